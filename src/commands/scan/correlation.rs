//! Correlation of failed backup jobs with the predictions: for each job in the window, whether a
//! failing finding explains its error code (it was predicted), at which layer, and whether the
//! layer of the job's code is the VM's root cause; summed per cause of the job's code.

use crate::outcome::{Cause, Correlation, VmReport};

/// The cause of a job's error: the earliest layer among its recognised codes.
pub fn code_cause(causes: impl IntoIterator<Item = Cause>) -> Option<Cause> {
    causes.into_iter().min()
}

pub fn summarise(vms: &[VmReport]) -> Correlation {
    let mut correlation = Correlation::default();
    for job in vms.iter().flat_map(|vm| &vm.failed_jobs) {
        correlation.jobs += 1;
        let predicted = !job.explained_by.is_empty();
        let agrees = job.agrees_with_root_cause == Some(true);
        correlation.predicted += usize::from(predicted);
        correlation.agree_with_root_cause += usize::from(agrees);
        let Some(cause) = job.code_cause else {
            correlation.unrecognised += 1;
            continue;
        };
        let entry = correlation.by_cause.entry(cause.as_str()).or_default();
        entry.jobs += 1;
        entry.predicted += usize::from(predicted);
        entry.agree_with_root_cause += usize::from(agrees);
    }
    correlation.rate =
        (correlation.jobs > 0).then(|| ratio(correlation.predicted, correlation.jobs));
    for entry in correlation.by_cause.values_mut() {
        entry.rate = ratio(entry.predicted, entry.jobs);
        entry.agreement_rate = ratio(entry.agree_with_root_cause, entry.jobs);
    }
    correlation
}

/// A share rounded to three decimals: reports are compared across scans and read by people.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_layer_of_a_jobs_codes_is_its_cause() {
        assert_eq!(
            code_cause([Cause::Network, Cause::Agent, Cause::Vault]),
            Some(Cause::Agent)
        );
        assert_eq!(code_cause([]), None);
    }

    #[test]
    fn shares_are_rounded_and_never_divide_by_zero() {
        assert_eq!(ratio(2, 3), 0.667);
        assert_eq!(ratio(0, 0), 0.0);
        assert_eq!(summarise(&[]).rate, None);
    }
}
