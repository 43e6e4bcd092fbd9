//! Lists in pages: the list envelope, the `cursor` and `limit` query parameters, and the one
//! function every list endpoint pages through.

use crate::Error;
use crate::msg;
use poem_openapi::{
    Object,
    types::{ParseFromJSON, ToJSON, Type},
};
use uuid::Uuid;

/// A page of a list, with the cursor of the next page (absent on the last one).
#[derive(Object, Debug)]
pub struct List<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Default and maximum page sizes.
pub const PAGE_DEFAULT: u64 = 50;
/// Largest page a client may ask for.
pub const PAGE_MAX: u64 = 200;

/// Parses a `cursor` query parameter (the id of the last item of the previous page).
pub fn parse_cursor(cursor: Option<&str>) -> crate::Result<Option<Uuid>> {
    cursor
        .map(|c| {
            Uuid::parse_str(c)
                .map_err(|_| Error::invalid("cursor", msg!("not a cursor returned by this API")))
        })
        .transpose()
}

/// Clamps a `limit` query parameter.
pub fn page_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX)
}

/// One page of rows in creation order (ids are UUIDv7), and the cursor of the next page.
#[derive(Debug)]
pub struct Page<M> {
    /// The rows of this page.
    pub rows: Vec<M>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
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
        }
    }
}

/// Fetches the page of `query` that follows `cursor`, ordered by the id column `id`. Every
/// list endpoint pages through this one function.
pub async fn fetch_page<E>(
    db: &impl sea_orm::ConnectionTrait,
    query: sea_orm::Select<E>,
    id: E::Column,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> crate::Result<Page<E::Model>>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{ColumnTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = page_limit(limit);
    let mut query = query;
    if let Some(after) = parse_cursor(cursor)? {
        query = query.filter(id.gt(after));
    }
    let mut rows = query.order_by_asc(id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => match last.get(id) {
            sea_orm::Value::Uuid(Some(u)) => Some(u.to_string()),
            _ => None,
        },
        _ => None,
    };
    Ok(Page { rows, next_cursor })
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
        Self { items, next_cursor }
    }
}
