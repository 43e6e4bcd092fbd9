//! A task as the tenant-wide list answers it.

use crate::lead_page::kinds::Task;
use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

/// A task, with the opportunity it belongs to.
#[derive(Object, Debug, Clone)]
pub struct TaskItem {
    /// Task id (as on `/opportunities/{opportunity_id}/tasks`).
    pub id: Uuid,
    /// The opportunity it belongs to.
    pub opportunity_id: Uuid,
    /// Who added it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Its fields: title, due date, assignee, done.
    #[oai(flatten)]
    pub task: Task,
}
