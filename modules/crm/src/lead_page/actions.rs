//! The lead page's actions on an opportunity (seed 001): trade-ins, offers, test drives,
//! tasks, follow-ups and comments. One mechanism serves them all: each kind is a typed,
//! validated body stored as a document in `opportunity_actions`, listed newest first, and
//! recorded in the opportunity's activity (the Details tab, `GET .../activity`).
//! They follow the opportunity's permission: reading needs read access to it, adding write.

use crate::{
    contacts::service,
    lead_page::entities::opportunity_action,
    opportunities::api::{Change, check_change, load, lock},
    vehicles::api as vehicles,
    vehicles::entities::vehicle,
};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    activity::{self, Actor},
    context::TenantUser,
    http::{Created, JsonBody, List, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    param::Path,
    payload::Json,
    types::{ParseFromJSON, ToJSON, Type},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// The lead page: what happened on an opportunity.
    LeadPage,
}

/// A kind of action: its key and its own checks.
pub trait Kind:
    Type + ParseFromJSON + ToJSON + Serialize + DeserializeOwned + Send + Sync + Clone
{
    /// The stored kind.
    const KIND: &'static str;
    /// Field checks beyond the types, within the caller's tenant.
    fn check(
        &self,
        app: &App,
        user: &TenantUser,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// An action as read: who added it, when, and its fields.
#[derive(Object, Debug, Clone)]
pub struct ActionView<T: Type + ParseFromJSON + ToJSON + Send + Sync> {
    /// Action id.
    pub id: Uuid,
    /// Who added it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The action's fields.
    #[oai(flatten)]
    pub data: T,
}

fn text(field: &str, v: &str, max: usize) -> Result<()> {
    let n = v.trim().chars().count();
    if n == 0 || n > max {
        Err(Error::invalid(field, format!("1 to {max} characters")))
    } else {
        Ok(())
    }
}

fn amount(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && (0.0..=100_000_000.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::invalid(field, "an amount in euros, not negative"))
    }
}

async fn stock_vehicle(app: &App, user: &TenantUser, id: Uuid) -> Result<()> {
    let found = vehicles::scoped(user.tenant_id)
        .filter(vehicle::Column::Id.eq(id))
        .one(&app.db)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::invalid("vehicle_id", "not a vehicle of this tenant"))
}

/// A vehicle taken back.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TradeIn {
    /// Make.
    #[oai(validator(max_length = 60))]
    pub make: String,
    /// Model.
    #[oai(validator(max_length = 60))]
    pub model: String,
    /// Model year (unknown for some leads).
    #[oai(nullable)]
    pub year: Option<i32>,
    /// Odometer, in km (unknown until the car is seen).
    #[oai(nullable)]
    pub mileage_km: Option<i32>,
    /// Valuation offered, in euros (absent until the car is appraised; a lead carries the
    /// customer's or a third party's appraisal).
    #[oai(nullable)]
    pub valuation: Option<f64>,
    /// VIN, when known.
    #[oai(nullable, validator(max_length = 32))]
    pub vin: Option<String>,
    /// `excellent`, `good`, `fair`, `poor` or free text.
    #[oai(nullable, validator(max_length = 60))]
    pub condition: Option<String>,
    /// Free text (outstanding finance, damage...).
    #[oai(nullable, validator(max_length = 2000))]
    pub comments: Option<String>,
}

impl Kind for TradeIn {
    const KIND: &'static str = "trade_in";
    async fn check(&self, _app: &App, _user: &TenantUser) -> Result<()> {
        text("make", &self.make, 60)?;
        text("model", &self.model, 60)?;
        if let Some(y) = self.year
            && !(1900..=2100).contains(&y)
        {
            return Err(Error::invalid("year", "a model year"));
        }
        if self.mileage_km.is_some_and(|m| m < 0) {
            return Err(Error::invalid("mileage_km", "not negative"));
        }
        if let Some(v) = self.valuation {
            amount("valuation", v)?;
        }
        optional_text("condition", &self.condition, 60)?;
        optional_text("comments", &self.comments, 2000)
    }
}

fn optional_text(field: &str, v: &Option<String>, max: usize) -> Result<()> {
    match v {
        Some(v) => text(field, v, max),
        None => Ok(()),
    }
}

/// A vehicle the customer asked about: from a partner's lead or noted by a salesperson. Linked
/// to the stock vehicle when one matches.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VehicleRequest {
    /// `buy`, `lease` or `test_drive`.
    #[oai(validator(max_length = 64))]
    pub interest: String,
    /// The stock vehicle it matched, if any.
    #[oai(nullable)]
    pub vehicle_id: Option<Uuid>,
    /// Make.
    #[oai(nullable, validator(max_length = 60))]
    pub make: Option<String>,
    /// Model.
    #[oai(nullable, validator(max_length = 60))]
    pub model: Option<String>,
    /// Trim or version.
    #[oai(nullable, validator(max_length = 100))]
    pub trim: Option<String>,
    /// Model year.
    #[oai(nullable)]
    pub year: Option<i32>,
    /// VIN.
    #[oai(nullable, validator(max_length = 32))]
    pub vin: Option<String>,
    /// `new` or `used`.
    #[oai(nullable, validator(max_length = 60))]
    pub condition: Option<String>,
    /// Odometer in km.
    #[oai(nullable)]
    pub mileage_km: Option<i64>,
    /// Price asked or quoted, in euros.
    #[oai(nullable)]
    pub price: Option<f64>,
    /// Free text.
    #[oai(nullable, validator(max_length = 2000))]
    pub comments: Option<String>,
}

impl Kind for VehicleRequest {
    const KIND: &'static str = "vehicle_request";
    async fn check(&self, app: &App, user: &TenantUser) -> Result<()> {
        if !["buy", "lease", "test_drive"].contains(&self.interest.as_str()) {
            return Err(Error::invalid("interest", "`buy`, `lease` or `test_drive`"));
        }
        if let Some(v) = self.vehicle_id {
            stock_vehicle(app, user, v).await?;
        }
        if self.make.is_none()
            && self.model.is_none()
            && self.vin.is_none()
            && self.vehicle_id.is_none()
        {
            return Err(Error::invalid(
                "model",
                "say which vehicle (make and model, VIN or vehicle_id)",
            ));
        }
        optional_text("make", &self.make, 60)?;
        optional_text("model", &self.model, 60)?;
        optional_text("trim", &self.trim, 100)?;
        optional_text("comments", &self.comments, 2000)?;
        if let Some(p) = self.price {
            amount("price", p)?;
        }
        Ok(())
    }
}

/// A price offer on a stock vehicle.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The stock vehicle offered.
    pub vehicle_id: Uuid,
    /// Price before discount, in euros.
    pub price: f64,
    /// Discount, in euros.
    #[oai(default)]
    #[serde(default)]
    pub discount: f64,
    /// Last day the offer holds.
    pub valid_until: NaiveDate,
}

impl Kind for Offer {
    const KIND: &'static str = "offer";
    async fn check(&self, app: &App, user: &TenantUser) -> Result<()> {
        stock_vehicle(app, user, self.vehicle_id).await?;
        amount("price", self.price)?;
        amount("discount", self.discount)?;
        if self.discount > self.price {
            return Err(Error::invalid("discount", "not more than the price"));
        }
        forecourt_core::dates::day("valid_until", self.valid_until)?;
        if self.valid_until < app.clock.now().date_naive() {
            return Err(Error::invalid("valid_until", "today or later"));
        }
        Ok(())
    }
}

/// A test drive.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TestDrive {
    /// The stock vehicle driven (absent for a request about a vehicle not in stock).
    #[oai(nullable)]
    pub vehicle_id: Option<Uuid>,
    /// When; absent while the test drive is still to be scheduled (a customer's request).
    #[oai(nullable)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The contact who drives.
    pub driver_contact_id: Uuid,
    /// The vehicle as the customer named it, when it is not a stock vehicle.
    #[oai(nullable, validator(max_length = 200))]
    pub vehicle: Option<String>,
}

impl Kind for TestDrive {
    const KIND: &'static str = "test_drive";
    async fn check(&self, app: &App, user: &TenantUser) -> Result<()> {
        match (self.vehicle_id, &self.vehicle) {
            (Some(v), _) => stock_vehicle(app, user, v).await?,
            (None, Some(name)) => text("vehicle", name, 200)?,
            (None, None) => {
                return Err(Error::invalid(
                    "vehicle_id",
                    "a stock vehicle, or `vehicle` naming one",
                ));
            }
        }
        forecourt_core::dates::maybe_instant("scheduled_at", self.scheduled_at)?;
        let found = service::scoped(user)
            .filter(crate::contacts::entities::contact::Column::Id.eq(self.driver_contact_id))
            .one(&app.db)
            .await?;
        found
            .map(|_| ())
            .ok_or_else(|| Error::invalid("driver_contact_id", "not a contact of this tenant"))
    }
}

/// A task for someone of the tenant.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// What to do.
    #[oai(validator(max_length = 200))]
    pub title: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Who does it (a user of the tenant).
    pub assignee_id: Uuid,
    /// Whether it is done.
    #[oai(default)]
    #[serde(default)]
    pub done: bool,
}

impl Kind for Task {
    const KIND: &'static str = "task";
    async fn check(&self, app: &App, user: &TenantUser) -> Result<()> {
        text("title", &self.title, 200)?;
        forecourt_core::dates::instant("due_at", self.due_at)?;
        if !app
            .ports
            .directory
            .exists(
                (&app.db).into(),
                forecourt_core::tenancy::TenantId::new(user.tenant_id),
                forecourt_core::ports::directory::DirectoryKind::User,
                self.assignee_id,
            )
            .await?
        {
            return Err(Error::invalid("assignee_id", "not a user of this tenant"));
        }
        Ok(())
    }
}

/// A follow-up: a deadline to contact the customer, and what came of it.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// When to contact the customer.
    pub deadline: DateTime<Utc>,
    /// Why.
    #[oai(validator(max_length = 500))]
    pub reason: String,
    /// What happened (or why contact did not happen).
    #[oai(nullable, validator(max_length = 2000))]
    pub outcome: Option<String>,
}

impl Kind for FollowUp {
    const KIND: &'static str = "follow_up";
    async fn check(&self, _app: &App, _user: &TenantUser) -> Result<()> {
        text("reason", &self.reason, 500)?;
        forecourt_core::dates::instant("deadline", self.deadline)?;
        if let Some(o) = &self.outcome {
            text("outcome", o, 2000)?;
        }
        Ok(())
    }
}

/// Changes to a task: absent fields stay.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// What to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 200))]
    pub title: Option<String>,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Who does it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Uuid>,
    /// Whether it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
}

/// Changes to a follow-up: absent fields stay.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct FollowUpPatch {
    /// When to contact the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
    /// What happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 2000))]
    pub outcome: Option<String>,
}

/// A comment.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// The text.
    #[oai(validator(max_length = 5000))]
    pub text: String,
}

impl Kind for Comment {
    const KIND: &'static str = "comment";
    async fn check(&self, _app: &App, _user: &TenantUser) -> Result<()> {
        text("text", &self.text, 5000)
    }
}

/// Adds an action after checking the opportunity is writable by the caller.
async fn add<K: Kind>(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
    body: K,
) -> Result<ActionView<K>> {
    // Access first: a caller who cannot reach the opportunity learns nothing from the body.
    let txn = forecourt_core::db::begin(&app.db).await?;
    let o = lock(app, &txn, user, opportunity_id, Change::Action(K::KIND)).await?;
    body.check(app, user).await?;
    let now = app.clock.now();
    let id = insert(&txn, &o, &body, Actor::User(user), now).await?;
    txn.commit().await?;
    Ok(ActionView {
        id,
        created_by: Some(user.user_id),
        created_at: now,
        data: body,
    })
}

/// Stores an action of the opportunity and records it in its activity, inside `txn`. The
/// body must have been checked.
pub(crate) async fn insert<K: Kind>(
    txn: &sea_orm::DatabaseTransaction,
    o: &crate::opportunities::entities::opportunity::Model,
    body: &K,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let data = serde_json::to_value(body).map_err(Error::internal)?;
    let id = Uuid::now_v7();
    insert_data(txn, o, K::KIND, id, data, actor, now).await?;
    Ok(id)
}

/// [`insert`] for an action whose id is chosen beforehand (a document's file is stored
/// under it) and whose data is already a document. Every action goes through here, from the
/// API and from lead intake, so the closed rule is checked here too ([`check_change`]).
pub(crate) async fn insert_data(
    txn: &sea_orm::DatabaseTransaction,
    o: &crate::opportunities::entities::opportunity::Model,
    kind: &str,
    id: Uuid,
    data: serde_json::Value,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    check_change(o, Change::Action(kind))?;
    let created_by = match actor {
        Actor::User(u) => Some(u.user_id),
        Actor::System(_) => None,
    };
    opportunity_action::Entity::insert(opportunity_action::ActiveModel {
        tenant_id: Set(o.tenant_id),
        id: Set(id),
        opportunity_id: Set(o.id),
        kind: Set(kind.into()),
        data: Set(data.clone()),
        created_by: Set(created_by),
        created_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    activity::record(
        txn,
        o.tenant_id,
        actor,
        now,
        "opportunity",
        o.id,
        &format!("{kind}_added"),
        data,
    )
    .await
}

/// Changes one action: the given fields replace the stored ones, and the result is checked
/// exactly like a new action of its kind.
async fn update<K: Kind>(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
    action_id: Uuid,
    patch: impl Serialize,
) -> Result<ActionView<K>> {
    let txn = forecourt_core::db::begin(&app.db).await?;
    let o = lock(app, &txn, user, opportunity_id, Change::Action(K::KIND)).await?;
    let row = opportunity_action::Entity::find()
        .filter(opportunity_action::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(K::KIND))
        .filter(opportunity_action::Column::Id.eq(action_id))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound(K::KIND))?;
    let mut merged = row.data.clone();
    if let (Some(target), serde_json::Value::Object(changes)) = (
        merged.as_object_mut(),
        serde_json::to_value(patch).map_err(Error::internal)?,
    ) {
        target.extend(changes);
    }
    let body: K = serde_json::from_value(merged).map_err(Error::internal)?;
    body.check(app, user).await?;
    let data = serde_json::to_value(&body).map_err(Error::internal)?;
    let now = app.clock.now();
    opportunity_action::Entity::update_many()
        .col_expr(
            opportunity_action::Column::Data,
            sea_orm::prelude::Expr::value(data.clone()),
        )
        .filter(opportunity_action::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_action::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    let mut changes = activity::diff(&row.data, &data);
    if let Some(c) = changes.as_object_mut() {
        c.insert("action_id".into(), serde_json::json!(row.id));
    }
    activity::record(
        &txn,
        o.tenant_id,
        Actor::User(user),
        now,
        "opportunity",
        o.id,
        &format!("{}_updated", K::KIND),
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(ActionView {
        id: row.id,
        created_by: row.created_by,
        created_at: row.created_at,
        data: body,
    })
}

/// The actions of one kind, newest first, if the caller may read the opportunity.
async fn list<K: Kind>(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
) -> Result<List<ActionView<K>>> {
    let o = load(app, &app.db, user, opportunity_id, Action::Read).await?;
    let rows = opportunity_action::Entity::find()
        .filter(opportunity_action::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(K::KIND))
        .order_by_desc(opportunity_action::Column::Id)
        .all(&app.db)
        .await?;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            let data = serde_json::from_value::<K>(r.data).ok()?;
            Some(ActionView {
                id: r.id,
                created_by: r.created_by,
                created_at: r.created_at,
                data,
            })
        })
        .collect();
    Ok(List {
        items,
        next_cursor: None,
    })
}

/// An entry of an opportunity's history.
#[derive(Object)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (absent for the system).
    #[oai(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// `user:<id>` or `system:<job>`.
    pub actor: String,
    /// What, e.g. `created`, `status_changed`, `offer_added`.
    pub action: String,
    /// The details.
    pub changes: serde_json::Value,
}

/// A purchase order to send.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderRequest {
    /// `fr`, `nl` or `en`; when absent, the customer's language, else the tenant's.
    #[oai(validator(max_length = 64))]
    pub language: Option<String>,
}

/// A purchase order accepted for delivery.
#[derive(Object, Debug)]
pub struct PurchaseOrderSent {
    /// The mail in the outbox.
    pub mail_id: Uuid,
    /// The customer's address it goes to.
    pub to: String,
    /// The language it was written in.
    pub language: String,
    /// The offer it confirms.
    pub offer_id: Uuid,
}

/// 202: the purchase order is in the outbox.
#[derive(poem_openapi::ApiResponse)]
pub enum PurchaseOrderResponse {
    /// Queued; delivered by the outbox (retried while the mail server is down).
    #[oai(status = 202)]
    Accepted(Json<PurchaseOrderSent>),
}

fn euros(v: f64) -> String {
    format!("{v:.2}")
}

/// Renders the purchase order of the latest offer in `language` and queues it for the
/// opportunity's first contact, inside the caller's transaction.
async fn purchase_order(
    app: &App,
    user: &TenantUser,
    opportunity_id: Uuid,
    language: Option<String>,
) -> Result<PurchaseOrderSent> {
    let txn = forecourt_core::db::begin(&app.db).await?;
    let o = lock(app, &txn, user, opportunity_id, Change::PurchaseOrder).await?;
    let offer_row = opportunity_action::Entity::find()
        .filter(opportunity_action::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(Offer::KIND))
        .order_by_desc(opportunity_action::Column::Id)
        .one(&txn)
        .await?
        .ok_or(Error::Validation {
            kind: "no_offer",
            field: "offers".into(),
            detail: "add an offer before sending a purchase order".into(),
        })?;
    let offer: Offer = serde_json::from_value(offer_row.data).map_err(Error::internal)?;
    let car = vehicles::scoped(o.tenant_id)
        .filter(vehicle::Column::Id.eq(offer.vehicle_id))
        .one(&txn)
        .await?;
    let vehicle_name = car
        .as_ref()
        .map(|v| {
            [
                Some(v.make.as_str()),
                Some(v.model.as_str()),
                v.version.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        })
        .unwrap_or_default();
    let first = crate::opportunities::entities::opportunity_contact::Entity::find()
        .filter(
            crate::opportunities::entities::opportunity_contact::Column::TenantId.eq(o.tenant_id),
        )
        .filter(crate::opportunities::entities::opportunity_contact::Column::OpportunityId.eq(o.id))
        .order_by_asc(crate::opportunities::entities::opportunity_contact::Column::Position)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("contact"))?;
    let customer = service::complete(
        &txn,
        service::scoped(&forecourt_core::tenancy::TenantId::new(o.tenant_id))
            .filter(crate::contacts::entities::contact::Column::Id.eq(first.contact_id))
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("contact"))?,
    )
    .await?;
    // The request's language, else the customer's, else the tenant's.
    let language = match language {
        Some(l) => crate::contacts::validate::language(&l)
            .ok_or_else(|| Error::invalid("language", "one of `fr`, `nl`, `en`"))?,
        None => match customer.contact.language.clone() {
            Some(l) => l,
            None => app
                .ports
                .directory
                .tenant_info(app, o.tenant_id)
                .await?
                .map(|i| i.language)
                .unwrap_or_else(|| "fr".into()),
        },
    };
    let to = customer
        .emails
        .first()
        .cloned()
        .ok_or_else(|| Error::Validation {
            kind: "customer_without_email",
            field: "contacts".into(),
            detail: "the customer has no email address".into(),
        })?;
    let ctx = serde_json::json!({
        "customer": customer.contact.display_name,
        "dealer": service::tenant_name(app, &txn, &forecourt_core::tenancy::TenantId::new(o.tenant_id)).await?,
        "vehicle": vehicle_name,
        "vin": car.as_ref().map(|v| v.vin.clone()),
        "price": euros(offer.price),
        "discount": euros(offer.discount),
        "total": euros(offer.price - offer.discount),
        "valid_until": offer.valid_until.to_string(),
        "reference": o.id.to_string(),
    });
    let now = app.clock.now();
    let mail_id = app
        .mail
        .enqueue(
            &txn,
            now,
            Some(o.tenant_id),
            &to,
            "purchase_order",
            &language,
            &ctx,
        )
        .await?;
    activity::record(
        &txn,
        o.tenant_id,
        Actor::User(user),
        now,
        "opportunity",
        o.id,
        "purchase_order_sent",
        serde_json::json!({"to": to, "language": language, "offer_id": offer_row.id, "mail_id": mail_id}),
    )
    .await?;
    txn.commit().await?;
    app.mail.wake();
    Ok(PurchaseOrderSent {
        mail_id,
        to,
        language,
        offer_id: offer_row.id,
    })
}

/// The lead page.
pub struct LeadPageApi;

macro_rules! kind_routes {
    ($( $path:literal, $ty:ty, $get:ident, $post:ident, $what:literal; )*) => {
        #[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadPage")]
        impl LeadPageApi {
            $(
                #[doc = concat!("List the ", $what, " of an opportunity, newest first.")]
                #[oai(path = $path, method = "get")]
                async fn $get(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>) -> poem::Result<Json<List<ActionView<$ty>>>> {
                    Ok(Json(list::<$ty>(&app, &auth.0, id.0).await?))
                }

                #[doc = concat!("Add to the ", $what, " of an opportunity (needs write access to it). A won or lost opportunity takes only comments (and documents): anything else answers 409 `opportunity_closed`.")]
                #[oai(path = $path, method = "post")]
                async fn $post(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<$ty>) -> poem::Result<Created<ActionView<$ty>>> {
                    Ok(Created::Created(Json(add(&app, &auth.0, id.0, body.0).await?)))
                }
            )*

            /// Send the purchase order
            ///
            /// Renders the purchase order of the latest offer (customer, vehicle, price, discount,
            /// validity) in `language` (by default the customer's, else the tenant's) and queues it for the
            /// opportunity's first contact. 422 `no_offer` without an offer,
            /// `customer_without_email` when the customer has no email; 409 `opportunity_closed`
            /// when the opportunity is won or lost (nothing is queued).
            #[oai(path = "/opportunities/:id/purchase-order", method = "post")]
            async fn purchase_order(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<PurchaseOrderRequest>) -> poem::Result<PurchaseOrderResponse> {
                Ok(PurchaseOrderResponse::Accepted(Json(purchase_order(&app, &auth.0, id.0, body.0.language).await?)))
            }

            /// Change a task
            ///
            /// Mark it done, move its due date, hand it to someone else. Absent fields stay. 409
            /// `opportunity_closed` once the opportunity is won or lost.
            #[oai(path = "/opportunities/:id/tasks/:task_id", method = "patch")]
            async fn update_task(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, task_id: Path<Uuid>, body: JsonBody<TaskPatch>) -> poem::Result<Json<ActionView<Task>>> {
                Ok(Json(update::<Task>(&app, &auth.0, id.0, task_id.0, body.0).await?))
            }

            /// Change a follow-up
            ///
            /// Record its outcome, move its deadline. Absent fields stay. 409
            /// `opportunity_closed` once the opportunity is won or lost.
            #[oai(path = "/opportunities/:id/follow-ups/:follow_up_id", method = "patch")]
            async fn update_follow_up(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, follow_up_id: Path<Uuid>, body: JsonBody<FollowUpPatch>) -> poem::Result<Json<ActionView<FollowUp>>> {
                Ok(Json(update::<FollowUp>(&app, &auth.0, id.0, follow_up_id.0, body.0).await?))
            }

            /// The Details tab: every action on the opportunity, who and when, newest first.
            #[oai(path = "/opportunities/:id/activity", method = "get")]
            async fn activity(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>) -> poem::Result<Json<List<HistoryEntry>>> {
                let o = load(&app, &app.db, &auth.0, id.0, Action::Read).await?;
                let rows = activity::list(&app.db, o.tenant_id, None, Some(("opportunity", o.id)), None, 500).await?;
                let items = rows
                    .into_iter()
                    .map(|r| HistoryEntry { at: r.at, actor_user_id: r.actor_user_id, actor: r.actor, action: r.action, changes: r.changes })
                    .collect();
                Ok(Json(List { items, next_cursor: None }))
            }
        }
    };
}

kind_routes! {
    "/opportunities/:id/trade-ins", TradeIn, list_trade_ins, add_trade_in, "trade-ins";
    "/opportunities/:id/vehicle-requests", VehicleRequest, list_vehicle_requests, add_vehicle_request, "vehicles asked about";
    "/opportunities/:id/offers", Offer, list_offers, add_offer, "offers";
    "/opportunities/:id/test-drives", TestDrive, list_test_drives, add_test_drive, "test drives";
    "/opportunities/:id/tasks", Task, list_tasks, add_task, "tasks";
    "/opportunities/:id/follow-ups", FollowUp, list_follow_ups, add_follow_up, "follow-ups";
    "/opportunities/:id/comments", Comment, list_comments, add_comment, "comments";
}
