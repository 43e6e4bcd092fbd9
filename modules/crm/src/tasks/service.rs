//! Reading tasks across the opportunities a caller reaches. A task's fields live in the JSON
//! document of its action row; filters and sorts read them there, with each backend's JSON
//! functions, normalising instants on both sides of every comparison so that the stored text
//! and a client's value compare as instants.

use crate::{
    lead_page::{entities::opportunity_action, kinds::Task},
    opportunities::{entities::opportunity, service::in_reach},
    tasks::views::TaskItem,
};
use chrono::{DateTime, SecondsFormat, Utc};
use forecourt_core::{
    Error, Result,
    http::{Key, Page, PageRequest, SortField, fetch_sorted},
    tenancy::{Cx, TenantScoped},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

/// What the tasks list keeps; all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Assigned to this user.
    pub assignee: Option<Uuid>,
    /// Done or not.
    pub done: Option<bool>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after this instant.
    pub due_after: Option<DateTime<Utc>>,
    /// Of this opportunity.
    pub opportunity: Option<Uuid>,
}

/// A member of a task's JSON document, as text.
fn member(backend: DbBackend, name: &str) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!("(\"opportunity_actions\".\"data\"->>'{name}')")),
        _ => Expr::cust(format!(
            "json_extract(\"opportunity_actions\".\"data\", '$.{name}')"
        )),
    }
}

/// An instant as PostgreSQL compares it.
fn pg_instant(e: Expr) -> Expr {
    e.cast_as("timestamptz")
}

/// An instant as SQLite compares it: one fixed-width text (milliseconds), whatever the
/// fraction and zone of the stored or given value.
fn sqlite_instant(e: Expr) -> Expr {
    Func::cust("strftime")
        .arg("%Y-%m-%dT%H:%M:%f")
        .arg(e)
        .into()
}

/// A client's instant as RFC 3339 text, the form both backends' normalisations read
/// (a bound date-time is text in another form on SQLite).
fn text_of(at: DateTime<Utc>) -> Expr {
    Expr::val(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The due date of the task of a row: the text it was stored as.
fn due_key(m: &opportunity_action::Model) -> Key {
    Key::Text(m.data["due_at"].as_str().unwrap_or_default().to_string())
}

/// The page `req` asks of the tasks of the opportunities the caller of `cx` reaches that
/// `filter` keeps, sortable by `due_at` and `created_at`.
pub async fn page(
    db: &impl ConnectionTrait,
    cx: &Cx,
    filter: &TaskFilter,
    req: &PageRequest,
) -> Result<Page<TaskItem>> {
    use opportunity_action::Column as A;
    let backend = db.get_database_backend();
    let instant: fn(Expr) -> Expr = match backend {
        DbBackend::Postgres => pg_instant,
        _ => sqlite_instant,
    };
    let due = instant(member(backend, "due_at"));
    let done = match backend {
        DbBackend::Postgres => member(backend, "done").cast_as("boolean"),
        _ => member(backend, "done"),
    };
    let reach = in_reach(cx)
        .select_only()
        .column(opportunity::Column::Id)
        .into_query();
    let q = opportunity_action::Entity::scoped(cx)
        .filter(A::Kind.eq("task"))
        .filter(A::OpportunityId.in_subquery(reach))
        .apply_if(filter.opportunity, |q, v| q.filter(A::OpportunityId.eq(v)))
        .apply_if(filter.assignee, |q, v| {
            q.filter(member(backend, "assignee_id").eq(v.to_string()))
        })
        .apply_if(filter.done, |q, v| q.filter(done.clone().eq(v)))
        .apply_if(filter.due_after, |q, v| {
            q.filter(due.clone().gte(instant(text_of(v))))
        })
        .apply_if(filter.due_before, |q, v| {
            q.filter(due.clone().lt(instant(text_of(v))))
        });
    let sorts = [
        SortField::expr("due_at", due.clone(), due_key).compared_as(instant),
        SortField::column(
            "created_at",
            A::CreatedAt,
            |m: &opportunity_action::Model| m.created_at.into(),
        ),
    ];
    let page = fetch_sorted(db, q, A::Id, &sorts, req).await?;
    let rows = page
        .rows
        .into_iter()
        .map(|m| {
            let task: Task = serde_json::from_value(m.data).map_err(Error::internal)?;
            Ok(TaskItem {
                id: m.id,
                opportunity_id: m.opportunity_id,
                created_by: m.created_by,
                created_at: m.created_at,
                task,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Page {
        rows,
        next_cursor: page.next_cursor,
        total: page.total,
    })
}
