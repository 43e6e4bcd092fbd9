//! Lists in pages: the list envelope, the paging query parameters (`cursor`, `limit`, `sort`,
//! `count`), and the one keyset mechanism every list pages through.
//!
//! A list declares the fields it may be sorted by ([`SortField`]); the [`Keyset`] built from
//! the client's [`PageRequest`] orders by that field and then by the id, so rows with equal
//! values keep one stable order, and continues after the last row of the previous page by
//! comparing values rather than counting an offset: a row inserted or changed between two
//! pages neither repeats nor hides a row that was already there. The cursor is opaque
//! (base64url of the sort, the last row's value and its id) and is refused (422 `cursor`)
//! when it was made for another sort or not by this API.

use crate::Error;
use crate::msg;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{
    Object,
    types::{ParseFromJSON, ToJSON, Type},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Value,
    sea_query::{Expr, ExprTrait, SelectStatement},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A page of a list, with the cursor of the next page (absent on the last one).
#[derive(Object, Debug)]
pub struct List<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// How many records the whole list holds with the same filters, within the caller's
    /// reach: only when the request asked for it with `count=true` (it costs one more
    /// statement), absent otherwise.
    #[oai(nullable, skip_serializing_if_is_none)]
    pub total: Option<u64>,
}

/// Default and maximum page sizes.
pub const PAGE_DEFAULT: u64 = 50;
/// Largest page a client may ask for.
pub const PAGE_MAX: u64 = 200;

/// Parses a plain-id `cursor` query parameter (the id of the last item of the previous page),
/// as the lists that page only in id order take it.
pub fn parse_cursor(cursor: Option<&str>) -> crate::Result<Option<Uuid>> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| bad_cursor()))
        .transpose()
}

fn bad_cursor() -> Error {
    Error::invalid("cursor", msg!("not a cursor returned by this API"))
}

/// Clamps a `limit` query parameter.
pub fn page_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX)
}

/// What a client asks of a list besides its filters: where to continue, how many, in which
/// order and whether to count. Every list handler gathers its `cursor`, `limit`, `sort` and
/// `count` query parameters into one.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// The page size (clamped to 1..=[`PAGE_MAX`], [`PAGE_DEFAULT`] when absent).
    pub limit: Option<u64>,
    /// A sort field of the list, `-` before it for descending order.
    pub sort: Option<String>,
    /// Whether to answer the `total`.
    pub count: bool,
}

impl PageRequest {
    /// The request of a list handler's `cursor`, `limit`, `sort` and `count` parameters.
    pub fn new(
        cursor: Option<String>,
        limit: Option<u64>,
        sort: Option<String>,
        count: Option<bool>,
    ) -> Self {
        Self {
            cursor,
            limit,
            sort,
            count: count.unwrap_or(false),
        }
    }
}

/// A value a list is sorted by, as the cursor carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// Text (names, labels, keys).
    Text(String),
    /// An instant (creation, change, due dates).
    Instant(DateTime<Utc>),
    /// A whole number (amounts in cents, years).
    Int(i64),
}

impl From<String> for Key {
    fn from(v: String) -> Self {
        Key::Text(v)
    }
}

impl From<DateTime<Utc>> for Key {
    fn from(v: DateTime<Utc>) -> Self {
        Key::Instant(v)
    }
}

impl From<i64> for Key {
    fn from(v: i64) -> Self {
        Key::Int(v)
    }
}

impl Key {
    fn value(self) -> Value {
        match self {
            Key::Text(s) => s.into(),
            Key::Instant(t) => t.into(),
            Key::Int(i) => i.into(),
        }
    }
}

/// A field a list may be sorted by (`sort=name`, `sort=-name`): the SQL it orders by and the
/// same value read from a row, which the cursor carries. Only fields that are never null:
/// the backends do not agree on where nulls sort.
pub struct SortField<M> {
    name: &'static str,
    expr: Expr,
    key: fn(&M) -> Key,
    bound: fn(Expr) -> Expr,
}

impl<M> SortField<M> {
    /// The field `name`, ordered by `column` and read from a row by `key`.
    pub fn column(name: &'static str, column: impl ColumnTrait, key: fn(&M) -> Key) -> Self {
        Self::expr(name, Expr::col(column.as_column_ref()), key)
    }

    /// The field `name`, ordered by the expression `expr` and read from a row by `key`.
    pub fn expr(name: &'static str, expr: Expr, key: fn(&M) -> Key) -> Self {
        Self {
            name,
            expr,
            key,
            bound: |v| v,
        }
    }

    /// Compares a cursor's value through `bound` (the same normalisation `expr` applies to
    /// the stored value, e.g. a cast), so both sides of the comparison agree.
    pub fn compared_as(mut self, bound: fn(Expr) -> Expr) -> Self {
        self.bound = bound;
        self
    }
}

/// Where a cursor continues: the sort it was made for, the last row's value and its id.
#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<Key>,
    id: Uuid,
}

/// One page of a list as asked: its order, where it continues and how many rows it reads.
/// Built from a [`PageRequest`] and the list's sort fields; [`Keyset::apply`] shapes a query
/// and [`Keyset::finish`] cuts its rows into a page.
pub struct Keyset<'a, M> {
    field: Option<&'a SortField<M>>,
    desc: bool,
    id: Expr,
    sort: String,
    after: Option<(Option<Key>, Uuid)>,
    limit: u64,
}

impl<'a, M> Keyset<'a, M> {
    /// The page `req` asks of a list sortable by `fields` whose id is `id` (default order:
    /// the id, which for UUIDv7 ids is creation order). A sort outside `fields` is 422 `sort`
    /// listing the accepted values; a cursor not made by this list for this sort is 422
    /// `cursor`. A plain id is still taken as a cursor in the default order.
    pub fn new(req: &PageRequest, fields: &'a [SortField<M>], id: Expr) -> crate::Result<Self> {
        let sort = req.sort.as_deref().map(str::trim).unwrap_or_default();
        let (desc, name) = match sort.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, sort),
        };
        let field = match name {
            "" if !desc => None,
            _ => Some(fields.iter().find(|f| f.name == name).ok_or_else(|| {
                let accepted = fields
                    .iter()
                    .map(|f| format!("{0}, -{0}", f.name))
                    .collect::<Vec<_>>()
                    .join(", ");
                Error::invalid(
                    "sort",
                    if accepted.is_empty() {
                        msg!("this list has one order only (creation); leave `sort` out")
                    } else {
                        msg!("one of {accepted} (`-` for descending)", accepted)
                    },
                )
            })?),
        };
        let sort = if field.is_some() { sort } else { "" }.to_string();
        let after = match req.cursor.as_deref() {
            None => None,
            Some(c) => Some(Self::read(c, &sort, field.is_some())?),
        };
        Ok(Self {
            field,
            desc,
            id,
            sort,
            after,
            limit: page_limit(req.limit),
        })
    }

    fn read(cursor: &str, sort: &str, keyed: bool) -> crate::Result<(Option<Key>, Uuid)> {
        if let Ok(id) = Uuid::parse_str(cursor) {
            // The cursors of the default order before sorting existed: the last id.
            return if keyed {
                Err(Error::invalid(
                    "cursor",
                    msg!("this cursor was made for another sort: start again without a cursor"),
                ))
            } else {
                Ok((None, id))
            };
        }
        let c: Cursor = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(bad_cursor)?;
        if c.s != sort || c.k.is_some() != keyed {
            return Err(Error::invalid(
                "cursor",
                msg!("this cursor was made for another sort: start again without a cursor"),
            ));
        }
        Ok((c.k, c.id))
    }

    /// `query` restricted to the rows after the cursor, in the page's order, reading one row
    /// more than the page holds (which only tells that there is a next page).
    pub fn apply<Q: QueryFilter + QueryOrder + QuerySelect>(&self, query: Q) -> Q {
        let (order, past): (Order, fn(Expr, Expr) -> Expr) = if self.desc {
            (Order::Desc, |a, b| a.lt(b))
        } else {
            (Order::Asc, |a, b| a.gt(b))
        };
        let mut query = query;
        if let Some((key, id)) = &self.after {
            let after_id = past(self.id.clone(), Expr::val(*id));
            query = query.filter(match (self.field, key) {
                (Some(f), Some(k)) => {
                    let v = (f.bound)(Expr::val(k.clone().value()));
                    Condition::any()
                        .add(past(f.expr.clone(), v.clone()))
                        .add(Condition::all().add(f.expr.clone().eq(v)).add(after_id))
                }
                _ => Condition::all().add(after_id),
            });
        }
        if let Some(f) = self.field {
            query = query.order_by(f.expr.clone(), order.clone());
        }
        query.order_by(self.id.clone(), order).limit(self.limit + 1)
    }

    /// The page of `rows` (read by a query shaped by [`Keyset::apply`]) and the cursor of the
    /// next one; `id_of` tells a row's id.
    pub fn finish(&self, mut rows: Vec<M>, id_of: impl Fn(&M) -> Uuid) -> Page<M> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => {
                let c = Cursor {
                    s: self.sort.clone(),
                    k: self.field.map(|f| (f.key)(last)),
                    id: id_of(last),
                };
                serde_json::to_vec(&c)
                    .ok()
                    .map(|b| URL_SAFE_NO_PAD.encode(b))
            }
            _ => None,
        };
        Page {
            rows,
            next_cursor,
            total: None,
        }
    }
}

/// The `total` of a list when `req` asks for it: `query` (the filtered rows in the caller's
/// reach, before paging) counted in one statement.
pub async fn count_if_asked<E: EntityTrait>(
    db: &impl ConnectionTrait,
    req: &PageRequest,
    query: Select<E>,
) -> crate::Result<Option<u64>> {
    if !req.count {
        return Ok(None);
    }
    // The rows themselves are not needed: one constant per row keeps the subquery narrow.
    let rows = query.select_only().expr(Expr::val(1)).into_query();
    let stmt = SelectStatement::new()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(rows, "counted")
        .to_owned();
    let row = db
        .query_one_raw(db.get_database_backend().build(&stmt))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => 0,
    };
    Ok(Some(u64::try_from(n).unwrap_or_default()))
}

/// One page of rows, the cursor of the next page, and the total when it was asked for.
#[derive(Debug)]
pub struct Page<M> {
    /// The rows of this page.
    pub rows: Vec<M>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// The number of rows of the whole list, when asked for.
    pub total: Option<u64>,
}

impl<M> Page<M> {
    /// The page as an API list.
    pub fn map<V: ParseFromJSON + ToJSON + Type + Send + Sync>(
        self,
        f: impl FnMut(M) -> V,
    ) -> List<V> {
        List {
            items: self.rows.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            total: self.total,
        }
    }
}

/// The page `req` asks of `query` (rows of entity `E` whose id column is `id`), sortable by
/// `sorts`, with its total when asked. Lists that read bare rows page through this; lists
/// that read more columns use [`Keyset`] and [`count_if_asked`] around their own statement.
pub async fn fetch_sorted<E>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    sorts: &[SortField<E::Model>],
    req: &PageRequest,
) -> crate::Result<Page<E::Model>>
where
    E: EntityTrait,
{
    use sea_orm::ModelTrait;
    let keyset = Keyset::new(req, sorts, Expr::col(id.as_column_ref()))?;
    let total = count_if_asked(db, req, query.clone()).await?;
    let rows = keyset.apply(query).all(db).await?;
    let mut page = keyset.finish(rows, |m| match m.get(id) {
        Value::Uuid(Some(u)) => u,
        _ => Uuid::nil(),
    });
    page.total = total;
    Ok(page)
}

/// Fetches the page of `query` that follows `cursor`, in id order (creation order: ids are
/// UUIDv7): [`fetch_sorted`] for the lists that offer no other order and no count.
pub async fn fetch_page<E>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> crate::Result<Page<E::Model>>
where
    E: EntityTrait,
{
    let req = PageRequest {
        cursor: cursor.map(str::to_string),
        limit,
        ..Default::default()
    };
    fetch_sorted(db, query, id, &[], &req).await
}

/// A date filter of a list (`created_after`, `updated_since`...): an RFC 3339 date-time, or a
/// plain date `YYYY-MM-DD`, which stands for its midnight (UTC). 422 naming `field` otherwise,
/// or when it lies outside the dates a client may send (`crate::dates`).
pub fn instant_param(field: &str, value: Option<&str>) -> crate::Result<Option<DateTime<Utc>>> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            Error::invalid(
                field,
                msg!("a date (2026-03-31) or a date-time in RFC 3339 (2026-03-31T14:30:00Z)"),
            )
        })?;
    crate::dates::instant(field, at).map(Some)
}

impl<T: ParseFromJSON + ToJSON + Type + Send + Sync> List<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that there is more.
    pub fn page(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|i| id_of(i).to_string())
        } else {
            None
        };
        Self {
            items,
            next_cursor,
            total: None,
        }
    }

    /// A whole list in one page: no cursor, no total.
    pub fn all(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
            total: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of a test list: its id and name.
    struct Row(Uuid, String);

    fn fields() -> [SortField<Row>; 1] {
        [SortField::expr("name", Expr::cust("name"), |r| {
            r.1.clone().into()
        })]
    }

    fn req(sort: Option<&str>, cursor: Option<&str>) -> PageRequest {
        PageRequest {
            sort: sort.map(str::to_string),
            cursor: cursor.map(str::to_string),
            limit: Some(1),
            count: false,
        }
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cursor_serves_the_sort_it_was_made_for() {
        let fields = fields();
        let id = || Expr::cust("id");
        let rows = || {
            vec![
                Row(Uuid::now_v7(), "a".into()),
                Row(Uuid::now_v7(), "b".into()),
            ]
        };
        let by_name = Keyset::new(&req(Some("-name"), None), &fields, id()).unwrap();
        let cursor = by_name.finish(rows(), |r| r.0).next_cursor.unwrap();
        assert!(Keyset::new(&req(Some("-name"), Some(&cursor)), &fields, id()).is_ok());
        for other in [Some("name"), None] {
            let e = Keyset::new(&req(other, Some(&cursor)), &fields, id())
                .err()
                .unwrap();
            assert_eq!(field_of(e), "cursor");
        }
        let plain = Uuid::now_v7().to_string();
        assert!(Keyset::new(&req(None, Some(&plain)), &fields, id()).is_ok());
        let e = Keyset::new(&req(None, Some("garbage")), &fields, id())
            .err()
            .unwrap();
        assert_eq!(field_of(e), "cursor");
        let e = Keyset::new(&req(Some("colour"), None), &fields, id())
            .err()
            .unwrap();
        assert_eq!(field_of(e), "sort");
        // The last page has no cursor.
        let last = Keyset::new(&req(None, None), &fields, id()).unwrap();
        assert!(
            last.finish(rows().split_off(1), |r| r.0)
                .next_cursor
                .is_none()
        );
    }

    #[test]
    fn dates_and_date_times_are_read_as_instants() {
        let at = |v: &str| instant_param("from", Some(v));
        assert_eq!(
            at("2026-03-31").unwrap().unwrap().to_rfc3339(),
            "2026-03-31T00:00:00+00:00"
        );
        assert_eq!(
            at("2026-03-31T14:30:00+02:00")
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-03-31T12:30:00+00:00"
        );
        assert!(at("31/03/2026").is_err());
        assert!(at("3026-01-01").is_err());
        assert!(instant_param("from", None).unwrap().is_none());
    }
}
