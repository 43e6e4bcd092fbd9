//! `/api/v1/contacts/{id}/opel`: the contact's Opel-group category.

use crate::{
    entities::category,
    service::{self, FleetCode, Segment},
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    activity,
    http::{JsonBody, NoContent, TenantAuth},
    tenancy::{Cx, Tenanted},
    uow::{Activity, Uow},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, Tags, param::Path, payload::Json};
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

/// The permission object that guards categories: the contact's own (defined by `crm`).
pub const OBJECT: &str = "contacts";

#[derive(Tags)]
enum ApiTags {
    /// The Opel-group category of contacts: segment and fleet code (Expert).
    Opel,
}

/// The category to give a contact.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OpelCategoryInput {
    /// The Opel segment.
    pub segment: Segment,
    /// The fleet code: 5 to 10 letters and digits with at least one digit; spaces around it
    /// are dropped and letters upper-cased (`ab12345` is stored as `AB12345`).
    #[oai(validator(max_length = 64))]
    pub fleet_code: String,
}

/// A contact's Opel-group category.
#[derive(Object)]
pub struct OpelCategory {
    /// The contact.
    pub contact_id: Uuid,
    /// The Opel segment.
    pub segment: Segment,
    /// The fleet code, upper-cased; the contact search finds the contact by it.
    pub fleet_code: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<category::Model> for OpelCategory {
    type Error = Error;

    fn try_from(m: category::Model) -> Result<Self> {
        Ok(Self {
            contact_id: m.contact_id,
            segment: segment_of(&m)?,
            fleet_code: m.fleet_code,
            updated_at: m.updated_at,
        })
    }
}

/// The stored segment; a key this build does not know is a server fault.
pub(crate) fn segment_of(m: &category::Model) -> Result<Segment> {
    Segment::parse(&m.segment).ok_or_else(|| {
        Error::internal(format!(
            "opel category of contact {} has segment {:?}",
            m.contact_id, m.segment
        ))
    })
}

/// What the activity log keeps of a category (`null`s when there is none).
fn snapshot(m: Option<&category::Model>) -> Value {
    json!({
        "segment": m.map(|m| m.segment.as_str()),
        "fleet_code": m.map(|m| m.fleet_code.as_str()),
    })
}

/// Opens the unit of work of a request on a contact: the contact must lie within the scope of
/// the caller's `contacts` grant, else 404 (exactly like a missing one).
async fn open<'a>(app: &'a App, cx: &Cx, contact_id: Uuid) -> Result<Uow<'a>> {
    let uow = Uow::begin(app, cx).await?;
    if !app
        .ports
        .contacts
        .visible(app, uow.txn(), cx, contact_id)
        .await?
    {
        return Err(Error::NotFound("contact"));
    }
    Ok(uow)
}

/// Opel categories.
pub struct OpelApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Opel")]
impl OpelApi {
    /// A contact's Opel category
    ///
    /// Needs `contacts`/`read` on the contact. 404 when the contact is out of reach or has no
    /// category.
    #[oai(path = "/contacts/:id/opel", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The contact.
        id: Path<Uuid>,
    ) -> poem::Result<Json<OpelCategory>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let uow = open(&app, &cx, id.0).await?;
        let m = service::get(uow.txn(), &cx, id.0)
            .await?
            .ok_or(Error::NotFound("opel category"))?;
        uow.commit().await?;
        Ok(Json(m.try_into()?))
    }

    /// Set a contact's Opel category
    ///
    /// Creates or replaces the segment and fleet code; the contact search then finds the
    /// contact by its fleet code. Needs `contacts`/`write` on the contact. 422 `fleet_code`
    /// for a code that is not 5 to 10 letters and digits with at least one digit.
    #[oai(path = "/contacts/:id/opel", method = "put")]
    async fn put(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The contact.
        id: Path<Uuid>,
        body: JsonBody<OpelCategoryInput>,
    ) -> poem::Result<Json<OpelCategory>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let tenant = cx.tenant().uuid();
        let uow = open(&app, &cx, id.0).await?;
        let fleet_code = FleetCode::parse(&body.fleet_code)?;
        let (before, after) = service::set(
            uow.txn(),
            &cx,
            id.0,
            body.segment,
            &fleet_code,
            Some(cx.user_id()),
            uow.now(),
        )
        .await?;
        if before.as_ref() != Some(&after) {
            app.ports
                .contacts
                .reindex(&app, uow.txn(), tenant, id.0)
                .await?;
            uow.record(Activity::new("contact", id.0, "opel_category_set").changes(
                activity::diff(&snapshot(before.as_ref()), &snapshot(Some(&after))),
            ))
            .await?;
        }
        uow.commit().await?;
        // The contact store's cached searches go stale only once the change is committed.
        app.ports.contacts.changed(&app, tenant).await;
        Ok(Json(after.try_into()?))
    }

    /// Remove a contact's Opel category
    ///
    /// Needs `contacts`/`write` on the contact. 404 when it has none.
    #[oai(path = "/contacts/:id/opel", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The contact.
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let tenant = cx.tenant().uuid();
        let uow = open(&app, &cx, id.0).await?;
        let removed = service::remove(uow.txn(), &cx, id.0)
            .await?
            .ok_or(Error::NotFound("opel category"))?;
        app.ports
            .contacts
            .reindex(&app, uow.txn(), tenant, id.0)
            .await?;
        uow.record(
            Activity::new("contact", id.0, "opel_category_removed")
                .changes(activity::diff(&snapshot(Some(&removed)), &snapshot(None))),
        )
        .await?;
        uow.commit().await?;
        app.ports.contacts.changed(&app, tenant).await;
        Ok(NoContent::NoContent)
    }
}
