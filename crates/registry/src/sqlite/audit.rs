//! Writing and reading the audit log table.

use chrono::Utc;
use factory_core::NodeId;
use rusqlite::{Connection, Transaction, params};

use super::QueryError;
use super::rows::{from_millis, to_millis};
use crate::{AuditAction, AuditContext, AuditEntry, AuditQuery, RegistryError};

/// Appends one entry inside `transaction`, so the entry commits or rolls back with the change.
pub fn insert(
    transaction: &Transaction<'_>,
    context: &AuditContext,
    action: AuditAction,
    node_id: Option<&NodeId>,
    detail: Option<serde_json::Value>,
) -> rusqlite::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, node_id, request_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    statement.execute(params![
        to_millis(Utc::now()),
        context.actor,
        action.as_str(),
        node_id.map(NodeId::as_str),
        context.request_id,
        detail.map(|detail| detail.to_string()),
    ])?;
    Ok(())
}

/// Reads entries newest first. The SQL differs per filter so that a node filter uses the
/// node index.
pub fn select(connection: &Connection, query: &AuditQuery) -> Result<Vec<AuditEntry>, QueryError> {
    let mut conditions = vec!["1".to_owned()];
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(node_id) = &query.node_id {
        values.push(node_id.as_str().to_owned().into());
        conditions.push(format!("node_id = ?{}", values.len()));
    }
    if let Some(before_id) = query.before_id {
        values.push(before_id.into());
        conditions.push(format!("id < ?{}", values.len()));
    }
    let sql = format!(
        "SELECT id, at, actor, action, node_id, request_id, detail FROM audit_log WHERE {} \
         ORDER BY id DESC LIMIT {}",
        conditions.join(" AND "),
        query.limit
    );

    let mut statement = connection.prepare_cached(&sql).map_err(QueryError::Sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(values)).map_err(QueryError::Sql)?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next().map_err(QueryError::Sql)? {
        entries.push(entry_from_row(row).map_err(QueryError::Row)?);
    }
    Ok(entries)
}

fn entry_from_row(row: &rusqlite::Row<'_>) -> Result<AuditEntry, RegistryError> {
    let corrupt =
        |error: &dyn std::fmt::Display| RegistryError::Corrupt { detail: format!("audit log: {error}") };
    let column = |index: usize| -> Result<rusqlite::types::Value, RegistryError> {
        row.get(index).map_err(|error| corrupt(&error))
    };
    let text = |index: usize| -> Result<Option<String>, RegistryError> {
        match column(index)? {
            rusqlite::types::Value::Null => Ok(None),
            rusqlite::types::Value::Text(text) => Ok(Some(text)),
            other => Err(corrupt(&format!("column {index} holds {other:?} instead of text"))),
        }
    };

    let id: i64 = row.get(0).map_err(|error| corrupt(&error))?;
    let at: i64 = row.get(1).map_err(|error| corrupt(&error))?;
    let node_id = text(4)?.map(|text| text.parse::<NodeId>().map_err(|error| corrupt(&error))).transpose()?;
    let detail =
        text(6)?.map(|text| serde_json::from_str(&text).map_err(|error| corrupt(&error))).transpose()?;

    Ok(AuditEntry {
        id,
        at: from_millis(at)?,
        actor: text(2)?.unwrap_or_default(),
        action: text(3)?.unwrap_or_default(),
        node_id,
        request_id: text(5)?,
        detail,
    })
}
