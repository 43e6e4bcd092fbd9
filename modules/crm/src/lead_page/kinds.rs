//! The kinds of lead-page actions (seed 001): trade-ins, vehicles asked about, offers, test
//! drives, tasks, follow-ups and comments, each a typed body with its own checks.

use crate::{contacts::service as contacts, vehicles::service as vehicles};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    dates::{When, zone_of},
    money::Money,
    ports::directory::DirectoryKind,
    tenancy::{Cx, Tenanted},
};
use poem_openapi::{
    Object,
    types::{MaybeUndefined, ParseFromJSON, ToJSON, Type},
};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A kind of action: its key and its own checks.
pub trait Kind:
    Type + ParseFromJSON + ToJSON + Serialize + DeserializeOwned + Send + Sync + Clone
{
    /// The stored kind.
    const KIND: &'static str;
    /// Whether it records what happened rather than plans or commits to something (a
    /// comment): a closed opportunity still takes it.
    const REMARK: bool = false;
    /// Whether it belongs to its author: only they, or a holder of
    /// `opportunities.actions`/`write` reaching the opportunity (managers by default), may
    /// correct or withdraw it. Tasks and follow-ups are not: whoever works the opportunity
    /// marks them done.
    const AUTHORED: bool = false;
    /// Field checks beyond the types, within the caller's tenant; a date written as a day
    /// is settled here into the instant it means in the tenant's time zone.
    fn check(&mut self, app: &App, cx: &Cx)
    -> impl std::future::Future<Output = Result<()>> + Send;
}

fn text(field: &str, v: &str, max: usize) -> Result<()> {
    let n = v.trim().chars().count();
    if n == 0 || n > max {
        Err(Error::invalid(field, msg!("1 to {max} characters", max)))
    } else {
        Ok(())
    }
}

async fn stock_vehicle(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    vehicles::get(&app.db, cx, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::invalid("vehicle_id", msg!("not a vehicle of this tenant")))
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
    /// Valuation offered, in integer cents (absent until the car is appraised; a lead
    /// carries the customer's or a third party's appraisal).
    #[oai(nullable)]
    pub valuation: Option<Money>,
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
    const AUTHORED: bool = true;
    async fn check(&mut self, _app: &App, _cx: &Cx) -> Result<()> {
        text("make", &self.make, 60)?;
        text("model", &self.model, 60)?;
        if let Some(y) = self.year
            && !(1900..=2100).contains(&y)
        {
            return Err(Error::invalid("year", msg!("a model year")));
        }
        if self.mileage_km.is_some_and(|m| m < 0) {
            return Err(Error::invalid("mileage_km", msg!("not negative")));
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
    /// Price asked or quoted, in integer cents.
    #[oai(nullable)]
    pub price: Option<Money>,
    /// Free text.
    #[oai(nullable, validator(max_length = 2000))]
    pub comments: Option<String>,
}

impl Kind for VehicleRequest {
    const KIND: &'static str = "vehicle_request";
    async fn check(&mut self, app: &App, cx: &Cx) -> Result<()> {
        if !["buy", "lease", "test_drive"].contains(&self.interest.as_str()) {
            return Err(Error::invalid(
                "interest",
                msg!("`buy`, `lease` or `test_drive`"),
            ));
        }
        if let Some(v) = self.vehicle_id {
            stock_vehicle(app, cx, v).await?;
        }
        if self.make.is_none()
            && self.model.is_none()
            && self.vin.is_none()
            && self.vehicle_id.is_none()
        {
            return Err(Error::invalid(
                "model",
                msg!("say which vehicle (make and model, VIN or vehicle_id)"),
            ));
        }
        optional_text("make", &self.make, 60)?;
        optional_text("model", &self.model, 60)?;
        optional_text("trim", &self.trim, 100)?;
        optional_text("comments", &self.comments, 2000)
    }
}

/// A price offer on a stock vehicle.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The stock vehicle offered.
    pub vehicle_id: Uuid,
    /// Price before discount, in integer cents.
    pub price: Money,
    /// Discount, in integer cents.
    #[oai(default)]
    #[serde(default)]
    pub discount: Money,
    /// Last day the offer holds.
    pub valid_until: NaiveDate,
}

impl Kind for Offer {
    const KIND: &'static str = "offer";
    const AUTHORED: bool = true;
    async fn check(&mut self, app: &App, cx: &Cx) -> Result<()> {
        stock_vehicle(app, cx, self.vehicle_id).await?;
        if self.discount > self.price {
            return Err(Error::invalid("discount", msg!("not more than the price")));
        }
        forecourt_core::dates::day("valid_until", self.valid_until)?;
        if self.valid_until < app.clock.now().date_naive() {
            return Err(Error::invalid("valid_until", msg!("today or later")));
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
    const AUTHORED: bool = true;
    async fn check(&mut self, app: &App, cx: &Cx) -> Result<()> {
        match (self.vehicle_id, &self.vehicle) {
            (Some(v), _) => stock_vehicle(app, cx, v).await?,
            (None, Some(name)) => text("vehicle", name, 200)?,
            (None, None) => {
                return Err(Error::invalid(
                    "vehicle_id",
                    msg!("a stock vehicle, or `vehicle` naming one"),
                ));
            }
        }
        forecourt_core::dates::maybe_instant("scheduled_at", self.scheduled_at)?;
        let found = contacts::scoped(cx)
            .filter(crate::contacts::entities::contact::Column::Id.eq(self.driver_contact_id))
            .one(&app.db)
            .await?;
        found.map(|_| ()).ok_or_else(|| {
            Error::invalid("driver_contact_id", msg!("not a contact of this tenant"))
        })
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
    /// When it is due: a date-time, or a date meaning the end of that day in the tenant's
    /// time zone.
    pub due_at: When,
    /// Who does it (a user of the tenant).
    pub assignee_id: Uuid,
    /// Whether it is done.
    #[oai(default)]
    #[serde(default)]
    pub done: bool,
}

impl Kind for Task {
    const KIND: &'static str = "task";
    async fn check(&mut self, app: &App, cx: &Cx) -> Result<()> {
        text("title", &self.title, 200)?;
        self.due_at
            .settle("due_at", zone_of(app, cx.tenant()).await?)?;
        let user = app
            .ports
            .directory
            .exists(
                (&app.db).into(),
                cx.tenant(),
                DirectoryKind::User,
                self.assignee_id,
            )
            .await?;
        if !user {
            return Err(Error::invalid(
                "assignee_id",
                msg!("not a user of this tenant"),
            ));
        }
        Ok(())
    }
}

/// A follow-up: a deadline to contact the customer, and what came of it.
#[derive(Object, Serialize, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// When to contact the customer: a date-time, or a date meaning the end of that day in
    /// the tenant's time zone.
    pub deadline: When,
    /// Why.
    #[oai(validator(max_length = 500))]
    pub reason: String,
    /// What happened (or why contact did not happen).
    #[oai(nullable, validator(max_length = 2000))]
    pub outcome: Option<String>,
}

impl Kind for FollowUp {
    const KIND: &'static str = "follow_up";
    async fn check(&mut self, app: &App, cx: &Cx) -> Result<()> {
        text("reason", &self.reason, 500)?;
        self.deadline
            .settle("deadline", zone_of(app, cx.tenant()).await?)?;
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
    /// When it is due (a date-time, or a date: the end of that day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<When>,
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
    /// When to contact the customer (a date-time, or a date: the end of that day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<When>,
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
    const REMARK: bool = true;
    const AUTHORED: bool = true;
    async fn check(&mut self, _app: &App, _cx: &Cx) -> Result<()> {
        text("text", &self.text, 5000)
    }
}

/// Corrections to a trade-in: absent fields stay, `null` clears an optional one.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TradeInPatch {
    /// Make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 60))]
    pub make: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 60))]
    pub model: Option<String>,
    /// Model year.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub year: MaybeUndefined<i32>,
    /// Odometer, in km.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub mileage_km: MaybeUndefined<i32>,
    /// Valuation, in integer cents.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub valuation: MaybeUndefined<Money>,
    /// VIN.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    #[oai(validator(max_length = 32))]
    pub vin: MaybeUndefined<String>,
    /// Condition.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    #[oai(validator(max_length = 60))]
    pub condition: MaybeUndefined<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    #[oai(validator(max_length = 2000))]
    pub comments: MaybeUndefined<String>,
}

/// Corrections to an offer: absent fields stay.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    /// The stock vehicle offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle_id: Option<Uuid>,
    /// Price before discount, in integer cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// Discount, in integer cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// Last day the offer holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
}

/// Corrections to a test drive: absent fields stay, `null` clears an optional one.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct TestDrivePatch {
    /// The stock vehicle driven.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub vehicle_id: MaybeUndefined<Uuid>,
    /// When.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub scheduled_at: MaybeUndefined<DateTime<Utc>>,
    /// The contact who drives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_contact_id: Option<Uuid>,
    /// The vehicle as the customer named it.
    #[serde(default, skip_serializing_if = "MaybeUndefined::is_undefined")]
    #[oai(validator(max_length = 200))]
    pub vehicle: MaybeUndefined<String>,
}

/// A corrected comment.
#[derive(Object, Serialize, Deserialize, Debug, Clone, Default)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CommentPatch {
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(validator(max_length = 5000))]
    pub text: Option<String>,
}
