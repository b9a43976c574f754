//! What `collect` wrote, on stderr: the files, the calls, and each gap the collection left.

use super::write_gaps;
use crate::live::Collection;
use std::path::Path;

pub fn collect(collection: &Collection, out: &Path) -> String {
    let mut text = format!(
        "wrote {} files for {} subscriptions to {} ({} calls, {} gaps)\n",
        collection.files.len(),
        collection.subscriptions,
        out.display(),
        collection.stats.calls(),
        collection.gaps.len()
    );
    write_gaps(&mut text, &collection.gaps);
    text
}
