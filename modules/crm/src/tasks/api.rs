//! `GET /api/v1/tasks`: the tenant-wide tasks list.

use crate::tasks::{
    service::{self, TaskFilter},
    views::TaskItem,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error,
    access::Action,
    http::{List, PageRequest, TenantAuth, instant_param},
};
use poem::web::Data;
use poem_openapi::{OpenApi, Tags, param::Query, payload::Json};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// Tasks across opportunities.
    Tasks,
}

/// Tasks.
pub struct TasksApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Tasks")]
impl TasksApi {
    /// List tasks
    ///
    /// The tasks of every opportunity the caller may read (`opportunities`/`read`, with the
    /// same scopes as the opportunities list), in creation order unless `sort` says
    /// otherwise, with cursor pagination. Every filter given must hold; an unknown parameter
    /// is refused (422 naming it). Change a task with `PATCH
    /// /opportunities/{opportunity_id}/tasks/{id}`.
    #[oai(path = "/tasks", method = "get")]
    // Each query parameter is an argument of the handler: poem-openapi documents them so (it
    // has no query struct), and the handler gathers them into one filter at once.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// Only the tasks assigned to this user.
        assigned_user_id: Query<Option<Uuid>>,
        /// `true`: only the tasks assigned to the caller (not with `assigned_user_id`).
        mine: Query<Option<bool>>,
        /// Only done tasks (`true`) or only the others (`false`).
        done: Query<Option<bool>>,
        /// Only the tasks due before this moment: an RFC 3339 date-time
        /// (`2026-03-31T14:30:00Z`) or a date (`2026-03-31`, its midnight UTC).
        due_before: Query<Option<String>>,
        /// Only the tasks due at or after this moment (date-time or date).
        due_after: Query<Option<String>>,
        /// Only the tasks of this opportunity.
        opportunity_id: Query<Option<Uuid>>,
        /// The order: `due_at` or `created_at`, `-` before it for descending (`-due_at`);
        /// equal values keep creation order. Default: creation order.
        sort: Query<Option<String>>,
        /// `true` to receive the `total` of the filtered list (one more statement).
        count: Query<Option<bool>>,
        /// The `next_cursor` of the previous page (made for the same `sort`).
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<TaskItem>>> {
        let mine = mine.0.unwrap_or(false);
        if mine && assigned_user_id.0.is_some() {
            return Err(Error::invalid(
                "mine",
                msg!("`mine` and `assigned_user_id` both name the assignee: give one of them"),
            )
            .into());
        }
        let mut filter = TaskFilter {
            assignee: assigned_user_id.0,
            done: done.0,
            due_before: instant_param("due_before", due_before.0.as_deref())?,
            due_after: instant_param("due_after", due_after.0.as_deref())?,
            opportunity: opportunity_id.0,
        };
        let req = PageRequest::new(cursor.0, limit.0, sort.0, count.0);
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        if mine {
            filter.assignee = Some(cx.user_id());
        }
        let page = service::page(&app.db, &cx, &filter, &req).await?;
        Ok(Json(page.map(|t| t)))
    }
}
