//! Reading contacts with their children in one statement: the emails, phones, addresses and
//! groups come as JSON arrays from correlated subqueries beside the contact's own columns
//! (PostgreSQL `json_agg`, SQLite `json_group_array`), so a read costs one round trip however
//! many child tables a contact has. Every subquery pins the tenant itself (its table's
//! `tenant_id = ?` through `TenantScoped`), not only through its correlation to the contact.

use crate::contacts::entities::{
    contact, contact_address, contact_email, contact_group, contact_phone,
};
use forecourt_core::{
    Result,
    tenancy::{TenantId, TenantScoped, Tenanted},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, FromQueryResult, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select, prelude::Expr, sea_query::ExprTrait,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A contact with its emails, phones, addresses and groups.
#[derive(Debug, Clone)]
pub struct Full {
    /// The contact row.
    pub contact: contact::Model,
    /// Emails, in order.
    pub emails: Vec<String>,
    /// Phones (E.164), in order.
    pub phones: Vec<String>,
    /// Addresses, in order.
    pub addresses: Vec<contact_address::Model>,
    /// Groups, in order.
    pub groups: Vec<String>,
}

/// The column aliases the children come back under.
const EMAILS: &str = "emails_json";
const PHONES: &str = "phones_json";
const ADDRESSES: &str = "addresses_json";
const GROUPS: &str = "groups_json";

/// `query` (contacts of one tenant) with each contact's children as four more columns.
pub(crate) fn with_children(
    query: Select<contact::Entity>,
    t: &impl Tenanted,
    backend: DbBackend,
) -> Select<contact::Entity> {
    let [emails, phones, addresses, groups] = subqueries(t, backend);
    query
        .expr_as(emails, EMAILS)
        .expr_as(phones, PHONES)
        .expr_as(addresses, ADDRESSES)
        .expr_as(groups, GROUPS)
}

/// The correlated subqueries of the four child tables, each an ordered JSON array as text.
fn subqueries(t: &impl Tenanted, backend: DbBackend) -> [Expr; 4] {
    let pg = backend == DbBackend::Postgres;
    [
        child::<contact_email::Entity>(t, pg, contact_email::Column::ContactId, |tb| {
            value(tb, "email")
        }),
        child::<contact_phone::Entity>(t, pg, contact_phone::Column::ContactId, |tb| {
            value(tb, "phone")
        }),
        child::<contact_address::Entity>(t, pg, contact_address::Column::ContactId, |_| {
            address(pg)
        }),
        child::<contact_group::Entity>(t, pg, contact_group::Column::ContactId, |tb| {
            value(tb, "name")
        }),
    ]
}

/// The JSON array of `item` over the rows of the tenant's child table of `contact_id` that
/// belong to the contact of the enclosing row.
fn child<E: TenantScoped>(
    t: &impl Tenanted,
    pg: bool,
    contact_id: E::Column,
    item: impl Fn(&str) -> String,
) -> Expr {
    let table = E::default().table_name();
    let q = E::scoped(t)
        .select_only()
        .expr(Expr::cust(array(pg, table, item(table))))
        .filter(
            Expr::col(contact_id.as_column_ref()).equals((contact::Entity, contact::Column::Id)),
        )
        .into_query();
    Expr::SubQuery(None, Box::new(q.into()))
}

/// `"table"."column"`.
fn value(table: &str, column: &str) -> String {
    format!("\"{table}\".\"{column}\"")
}

/// The JSON array of `value` over the rows of `table`, in the order of their `position`, as
/// text (`[]` when there are none). SQLite (3.44 and later; the bundled one is newer) orders
/// inside the aggregate as PostgreSQL does, which is guaranteed where the order of an ordered
/// subquery feeding the aggregate is not.
fn array(pg: bool, table: &str, value: String) -> String {
    let order = self::value(table, "position");
    if pg {
        format!("coalesce(json_agg({value} ORDER BY {order})::text, '[]')")
    } else {
        format!("json_group_array({value} ORDER BY {order})")
    }
}

/// An address as a JSON object. SQLite stores a UUID as 16 bytes, which JSON cannot hold: it
/// goes as hex (which `Uuid::parse_str` reads as well as PostgreSQL's hyphenated text).
fn address(pg: bool) -> String {
    let col = |c: &str| value("contact_addresses", c);
    let fields = [
        "kind",
        "is_default",
        "street",
        "postal_code",
        "city",
        "country",
    ]
    .map(|f| format!("'{f}', {}", col(f)))
    .join(", ");
    let id = col("id");
    if pg {
        format!("json_build_object('id', {id}, {fields})")
    } else {
        format!(
            "json_object('id', CASE typeof({id}) WHEN 'blob' THEN lower(hex({id})) \
             ELSE {id} END, {fields})"
        )
    }
}

/// An address as it comes in the JSON array.
#[derive(Deserialize)]
struct AddressJson {
    id: String,
    kind: String,
    #[serde(deserialize_with = "flag")]
    is_default: bool,
    street: String,
    postal_code: String,
    city: String,
    country: String,
}

/// A boolean as JSON: `true`/`false` from PostgreSQL, `1`/`0` from SQLite (which has no
/// boolean type).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

fn json<T: serde::de::DeserializeOwned>(
    row: &QueryResult,
    pre: &str,
    col: &str,
) -> Result<T, DbErr> {
    let text: String = row.try_get(pre, col)?;
    serde_json::from_str(&text).map_err(|e| DbErr::Json(format!("{col}: {e}")))
}

/// A contact's children as read from the four JSON columns of a row.
#[derive(Default)]
struct Children {
    emails: Vec<String>,
    phones: Vec<String>,
    addresses: Vec<contact_address::Model>,
    groups: Vec<String>,
}

impl Children {
    /// The children in `row` of the contact `id` of `tenant_id`.
    fn read(row: &QueryResult, pre: &str, tenant_id: Uuid, id: Uuid) -> Result<Self, DbErr> {
        let addresses: Vec<AddressJson> = json(row, pre, ADDRESSES)?;
        let addresses = addresses
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(contact_address::Model {
                    tenant_id,
                    id: Uuid::parse_str(&a.id)
                        .map_err(|e| DbErr::Json(format!("address id: {e}")))?,
                    contact_id: id,
                    kind: a.kind,
                    is_default: a.is_default,
                    street: a.street,
                    postal_code: a.postal_code,
                    city: a.city,
                    country: a.country,
                    // Positions are written 0, 1, 2… and the array comes in their order.
                    position: i as i32,
                })
            })
            .collect::<Result<_, DbErr>>()?;
        Ok(Self {
            emails: json(row, pre, EMAILS)?,
            phones: json(row, pre, PHONES)?,
            groups: json(row, pre, GROUPS)?,
            addresses,
        })
    }

    fn of(self, contact: contact::Model) -> Full {
        Full {
            contact,
            emails: self.emails,
            phones: self.phones,
            addresses: self.addresses,
            groups: self.groups,
        }
    }
}

/// A row of [`with_children`]: a contact with its children.
pub(crate) struct Loaded(pub(crate) Full);

impl FromQueryResult for Loaded {
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let c = contact::Model::from_query_result(row, pre)?;
        Ok(Loaded(Children::read(row, pre, c.tenant_id, c.id)?.of(c)))
    }
}

/// A row of children only, for contacts already read.
struct Kids(Uuid, Children);

impl FromQueryResult for Kids {
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let tenant_id: Uuid = row.try_get(pre, "tenant_id")?;
        let id: Uuid = row.try_get(pre, "id")?;
        Ok(Kids(id, Children::read(row, pre, tenant_id, id)?))
    }
}

/// Loads the children of a contact, in one statement.
pub async fn complete(conn: &impl ConnectionTrait, c: contact::Model) -> Result<Full> {
    // The row was read within its tenant: its children are read within the same one.
    let t = TenantId::new(c.tenant_id);
    let mut kids = kids_of(conn, &t, vec![c.id]).await?;
    Ok(match kids.remove(&c.id) {
        Some(k) => k.of(c),
        // Deleted since it was read (outside a transaction): nothing of it is left.
        None => Children::default().of(c),
    })
}

/// Loads the children of many contacts of the tenant, in one statement.
pub async fn complete_many(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    rows: Vec<contact::Model>,
) -> Result<Vec<Full>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let mut kids = kids_of(conn, t, rows.iter().map(|c| c.id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|c| match kids.remove(&c.id) {
            Some(k) => k.of(c),
            None => Children::default().of(c),
        })
        .collect())
}

/// The children of the contacts `ids` of the tenant, by contact, in one statement.
async fn kids_of(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    ids: Vec<Uuid>,
) -> Result<BTreeMap<Uuid, Children>> {
    let query = contact::Entity::scoped(t)
        .select_only()
        .column(contact::Column::TenantId)
        .column(contact::Column::Id)
        .filter(contact::Column::Id.is_in(ids));
    Ok(with_children(query, t, conn.get_database_backend())
        .into_model::<Kids>()
        .all(conn)
        .await?
        .into_iter()
        .map(|Kids(id, c)| (id, c))
        .collect())
}
