//! A contact body checked into data that can be stored, and the checks of who may write it:
//! one path for create, patch and merge.

use crate::contacts::{
    entities::contact,
    status::initial_status,
    store::{AddressData, ContactData},
    validate,
    views::{ContactBody, ContactKind, Lifecycle, str_of},
    visibility::{Conn, find_visible, scoped},
};
use forecourt_core::{
    App, Checks, Error, Result,
    access::{Action, Scope},
    context::TenantUser,
    mail::parse_email,
    ports::directory::DirectoryKind,
    tenancy::{Cx, Tenanted},
};
use forecourt_core::{Msg, msg};
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => {
            Err(Error::invalid(field, msg!("at most {max} characters", max)))
        }
        other => Ok(other),
    }
}

/// Validates a body into storable data, for the caller `user`; the references it holds (employer,
/// owner, establishment, company) are looked up on `conn`, except those known to exist: the
/// caller and their establishment, and what the contact being changed (`stored`) already holds.
pub async fn validate_body(
    app: &App,
    conn: &impl Conn,
    user: &TenantUser,
    b: ContactBody,
    country: &str,
    stored: Option<&contact::Model>,
) -> Result<ContactData> {
    let today = app.clock.now().date_naive();
    // Every field is checked, and one 422 names all the invalid ones.
    let mut c = Checks::default();
    let kind = str_of(b.kind);
    let lifecycle = str_of(b.lifecycle.unwrap_or(Lifecycle::Prospect));
    let first_name = c.take(text("first_name", b.first_name, 100))?.flatten();
    let last_name = c.take(text("last_name", b.last_name, 100))?.flatten();
    let company_name = c.take(text("company_name", b.company_name, 200))?.flatten();
    match b.kind {
        ContactKind::Person if first_name.is_none() && last_name.is_none() => {
            c.refuse(Error::invalid(
                "last_name",
                msg!("a person needs a first or last name"),
            ))?;
        }
        ContactKind::Company if company_name.is_none() => {
            c.refuse(Error::invalid(
                "company_name",
                msg!("a company needs a name"),
            ))?;
        }
        _ => {}
    }
    let mut emails = Vec::new();
    let mut phones = Vec::new();
    for (i, e) in b.emails.iter().enumerate() {
        if let Some(e) = c.take(parse_email(&format!("emails[{i}]"), e))?
            && !emails.contains(&e)
        {
            emails.push(e);
        }
    }
    for (i, p) in b.phones.iter().enumerate() {
        if let Some(p) = c.take(validate::phone(&format!("phones[{i}]"), p, country))?
            && !phones.contains(&p)
        {
            phones.push(p);
        }
    }
    if b.emails.is_empty() && b.phones.is_empty() {
        c.refuse(Error::Validation {
            kind: "contact_unreachable",
            field: "emails".into(),
            detail: msg!("give at least one email or phone"),
        })?;
    }
    let mut addresses = Vec::new();
    for (i, a) in b.addresses.into_iter().enumerate() {
        let f = |n: &str| format!("addresses[{i}].{n}");
        let req = |n: &str, v: String| -> Result<String> {
            text(&f(n), Some(v), 200)?.ok_or_else(|| Error::invalid(f(n), msg!("required")))
        };
        let country = a
            .country
            .map(|c| c.trim().to_uppercase())
            .unwrap_or_else(|| country.to_string());
        if country.len() != 2 || !country.chars().all(|ch| ch.is_ascii_uppercase()) {
            c.refuse(Error::invalid(
                f("country"),
                msg!("an ISO 3166 alpha-2 country code"),
            ))?;
        }
        let street = c.take(req("street", a.street))?;
        let postal_code = c.take(req("postal_code", a.postal_code))?;
        let city = c.take(req("city", a.city))?;
        if let (Some(street), Some(postal_code), Some(city)) = (street, postal_code, city) {
            addresses.push(AddressData {
                kind: str_of(a.kind),
                is_default: a.is_default,
                street,
                postal_code,
                city,
                country,
            });
        }
    }
    match addresses.iter().filter(|a| a.is_default).count() {
        0 => {
            if let Some(first) = addresses.first_mut() {
                first.is_default = true;
            }
        }
        1 => {}
        _ => c.refuse(Error::invalid(
            "addresses",
            msg!("only one address can be the default"),
        ))?,
    }
    if let Some(r) = b.vat_rate
        && (!(0.0..=100.0).contains(&r) || !r.is_finite())
    {
        c.refuse(Error::invalid(
            "vat_rate",
            msg!("a percentage between 0 and 100"),
        ))?;
    }
    let vat_number = match c.take(text("vat_number", b.vat_number, 32))?.flatten() {
        Some(v) => c.take(validate::vat("vat_number", &v))?,
        None => None,
    };
    let national_number = match (
        c.take(text("national_number", b.national_number, 32))?
            .flatten(),
        b.kind,
        country,
    ) {
        (Some(n), ContactKind::Company, "BE") => c.take(validate::kbo("national_number", &n))?,
        (Some(n), ContactKind::Person, "BE") => {
            c.take(validate::national_register("national_number", &n))?
        }
        (other, _, _) => other,
    };
    let birth_date = match b.birth_date {
        Some(d) => c.take(validate::birth_date("birth_date", d, today))?,
        None => None,
    };
    let mut groups: Vec<String> = Vec::new();
    for (i, g) in b.groups.into_iter().enumerate() {
        let checked = text(&format!("groups[{i}]"), Some(g), 50).and_then(|g| {
            g.ok_or_else(|| Error::invalid(format!("groups[{i}]"), msg!("empty group")))
        });
        if let Some(g) = c.take(checked)?
            && !groups.contains(&g)
        {
            groups.push(g);
        }
    }
    let title = c.take(text("title", b.title, 50))?.flatten();
    let position = c.take(text("position", b.position, 100))?.flatten();
    let comments = c.take(text("comments", b.comments, 5000))?.flatten();
    let language = match b.language {
        Some(l) => {
            let checked = validate::language(&l).ok_or_else(|| {
                Error::invalid(
                    "language",
                    msg!("one of `fr`, `nl`, `en` (or a locale such as `nl-BE`)"),
                )
            });
            c.take(checked)?
        }
        None => None,
    };
    if let Some(e) = b.employer_id {
        let employer = scoped(user)
            .filter(contact::Column::Id.eq(e))
            .one(conn)
            .await?;
        if employer.is_none_or(|c| c.kind != "company") {
            c.refuse(Error::invalid(
                "employer_id",
                msg!("not a company contact of this tenant"),
            ))?;
        }
    }
    let exists = |kind, id| {
        app.ports
            .directory
            .exists(conn.executor(), user.tenant(), kind, id)
    };
    // Users and establishments are never deleted, and the foreign keys of a stored contact
    // restrict deletion of what it references: the caller (whose principal was just read), the
    // caller's establishment and the stored contact's own references need no round trip.
    let known =
        |id: Uuid, own: Option<Uuid>, kept: Option<Uuid>| Some(id) == own || Some(id) == kept;
    let assigned = b.assigned_user_id.unwrap_or(user.user_id);
    if !known(
        assigned,
        Some(user.user_id),
        stored.and_then(|s| s.assigned_user_id),
    ) && !exists(DirectoryKind::User, assigned).await?
    {
        c.refuse(Error::invalid(
            "assigned_user_id",
            msg!("not a user of this tenant"),
        ))?;
    }
    // A team is looked up unless it is one of the caller's (their principal was just read)
    // or the one the stored contact keeps.
    if let Some(t) = b.assigned_team_id
        && !user.in_team(t)
        && Some(t) != stored.and_then(|s| s.assigned_team_id)
        && !exists(DirectoryKind::Team, t).await?
    {
        c.refuse(Error::invalid(
            "assigned_team_id",
            msg!("not a team of this tenant"),
        ))?;
    }
    let establishment = b.establishment_id.or(user.establishment_id);
    if let Some(e) = establishment
        && !known(
            e,
            user.establishment_id,
            stored.and_then(|s| s.establishment_id),
        )
        && !exists(DirectoryKind::Establishment, e).await?
    {
        c.refuse(Error::invalid(
            "establishment_id",
            msg!("not an establishment of this tenant"),
        ))?;
    }
    if let Some(company) = b.company_id
        && !known(company, None, stored.and_then(|s| s.company_id))
        && !exists(DirectoryKind::Company, company).await?
    {
        c.refuse(Error::invalid(
            "company_id",
            msg!("not a company of this tenant"),
        ))?;
    }
    c.finish()?;
    Ok(ContactData {
        kind,
        title,
        first_name,
        last_name,
        company_name,
        national_number,
        emails,
        phones,
        addresses,
        vat_rate: b.vat_rate,
        vat_number,
        position,
        language,
        employer_id: b.employer_id,
        birth_date,
        groups,
        comments,
        blocked: b.blocked.unwrap_or(false),
        prospect_status: match stored.and_then(|s| s.prospect_status.clone()) {
            Some(kept) => Some(kept),
            None if lifecycle == "prospect" => Some(initial_status(app, conn, user).await?),
            None => None,
        },
        lifecycle,
        assigned_user_id: Some(assigned),
        assigned_team_id: b.assigned_team_id,
        establishment_id: establishment,
        company_id: b.company_id,
    })
}

/// A write must stay within the caller's scope: own contacts stay assigned to the caller or
/// to a team of theirs, establishment contacts in the caller's establishment. `kept_team` is
/// the team the stored contact is assigned to (`None` on creation): at own scope a team is
/// given only if it is one of the caller's, or kept as it was, so nobody hands work to a team
/// they are not in.
pub fn ensure_within(cx: &Cx, d: &ContactData, kept_team: Option<Uuid>) -> Result<()> {
    let user = cx.user();
    let ok = match cx.scope() {
        Scope::Tenant => true,
        Scope::Establishment => {
            d.establishment_id.is_some() && d.establishment_id == user.establishment_id
        }
        Scope::Own => {
            let team_ok = d
                .assigned_team_id
                .is_none_or(|t| user.in_team(t) || Some(t) == kept_team);
            team_ok
                && (d.assigned_user_id == Some(user.user_id)
                    || d.assigned_team_id.is_some_and(|t| user.in_team(t)))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::forbidden(msg!(
            "this contact would be outside your reach (owner, team or establishment)"
        )))
    }
}

/// The permission object that blocks and unblocks contacts: a block is an admin's decision
/// (a customer who must not be sold to), so writing a contact is not enough to lift it.
const BLOCKED: &str = "contacts.blocked";

/// Checks the caller may block or unblock this contact: `contacts.blocked`/`write` at a scope
/// that reaches the contact as it is (`current`, absent on creation) and as it will be. Asked
/// when a write would change the flag (or create a contact blocked).
pub async fn may_set_blocked(
    app: &App,
    conn: &impl Conn,
    user: &TenantUser,
    current: Option<Uuid>,
    d: &ContactData,
) -> Result<()> {
    let denied = |detail: Msg| Error::Forbidden {
        kind: "forbidden",
        detail,
        extra: Some(json!({"permission": BLOCKED, "action": "write", "field": "blocked"})),
    };
    let blocker = match app.authz.context(user, BLOCKED, Action::Write).await {
        Ok(cx) => cx,
        Err(Error::Forbidden { .. }) => {
            return Err(denied(msg!(
                "you lack the permission `{BLOCKED}` / `write`",
                BLOCKED
            )));
        }
        Err(e) => return Err(e),
    };
    let reaches_current = match current {
        Some(id) => find_visible(app, conn, &blocker, id).await?.is_some(),
        None => true,
    };
    if !reaches_current || ensure_within(&blocker, d, d.assigned_team_id).is_err() {
        return Err(denied(msg!(
            "you lack the permission `{BLOCKED}` / `write` on this contact (owner or \
             establishment)",
            BLOCKED
        )));
    }
    Ok(())
}

/// The tenant's default country, for phones and addresses given without one.
pub async fn country_of(app: &App, t: &impl Tenanted) -> Result<String> {
    Ok(app
        .ports
        .directory
        .tenant_info(app, t.tenant().uuid())
        .await?
        .map(|i| i.country)
        .unwrap_or_else(|| "BE".into()))
}
