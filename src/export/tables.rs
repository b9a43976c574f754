//! The custom tables' declaration, `deploy/azure/log-analytics/tables.json`, compiled into the
//! binary: the Bicep that creates the tables and the data collection rule's stream declarations
//! loads the same file, so the streams named here and the columns the rows carry are those Azure
//! expects (a test in `rows.rs` compares them).

use serde::Deserialize;

/// Where the file lives, for messages.
pub const FILE: &str = "deploy/azure/log-analytics/tables.json";
const TEXT: &str = include_str!("../../deploy/azure/log-analytics/tables.json");

/// The table of one row per VM per scan.
pub const VMS: &str = "BackupDoctorVms_CL";
/// The table of one row per failing or unknown finding.
pub const FINDINGS: &str = "BackupDoctorFindings_CL";

#[derive(Debug, Clone, Deserialize)]
pub struct Tables {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    pub table: String,
    /// The data collection rule's input stream (`Custom-…`) that feeds the table.
    pub stream: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    pub name: String,
    /// A Log Analytics column type: string, boolean, int, long, real, datetime, dynamic, guid.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The declaration compiled in. An error here is a broken build (the file is checked in and
/// parsed by the tests), reported rather than panicking.
pub fn declared() -> Result<Tables, String> {
    serde_json::from_str(TEXT).map_err(|e| format!("{FILE} compiled into this build: {e}"))
}

impl Tables {
    pub fn table(&self, name: &str) -> Result<&Table, String> {
        self.tables
            .iter()
            .find(|t| t.table == name)
            .ok_or_else(|| format!("{FILE} compiled into this build has no table {name}"))
    }
}

impl Table {
    /// `(name, type)` of each column, in declaration order.
    pub fn columns(&self) -> Vec<(&str, &str)> {
        self.columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind.as_str()))
            .collect()
    }
}
