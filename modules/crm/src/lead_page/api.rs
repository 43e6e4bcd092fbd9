//! The lead page's endpoints on an opportunity (seed 001): its actions (trade-ins, offers,
//! test drives, tasks, follow-ups, comments), the purchase order, the Details tab, and
//! documents. They follow the opportunity's permission: reading needs read access to it,
//! adding write.

use crate::lead_page::{
    files,
    kinds::{
        Comment, CommentPatch, FollowUp, FollowUpPatch, Offer, OfferPatch, Task, TaskPatch,
        TestDrive, TestDrivePatch, TradeIn, TradeInPatch, VehicleRequest,
    },
    service,
    views::{
        ActionView, Document, Download, HistoryEntry, PurchaseOrderRequest, PurchaseOrderResponse,
    },
};
use forecourt_core::{
    App, Result,
    access::Action,
    context::TenantUser,
    http::{Created, JsonBody, List, NoContent, TenantAuth},
    tenancy::Cx,
};
use poem::{Request, web::Data};
use poem_openapi::{
    OpenApi, Tags,
    param::Path,
    payload::{Binary, Json},
    types::{ParseFromJSON, ToJSON, Type},
};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// The lead page: what happened on an opportunity.
    LeadPage,
}

/// The caller's context on opportunities for `action`.
async fn cx(app: &App, user: &TenantUser, action: Action) -> Result<Cx> {
    app.authz.context(user, "opportunities", action).await
}

fn all<T: Type + ParseFromJSON + ToJSON + Send + Sync>(items: Vec<T>) -> List<T> {
    List {
        items,
        next_cursor: None,
        total: None,
    }
}

/// The lead page.
pub struct LeadPageApi;

macro_rules! kind_routes {
    (
        kinds { $( $path:literal, $item:literal, $param:literal, $seg:literal, $ty:ty, $get:ident, $post:ident, $one:ident, $what:literal; )* }
        authored { $( $apath:literal, $aparam:literal, $aty:ty, $patch_ty:ty, $correct:ident, $withdraw:ident, $awhat:literal; )* }
    ) => {
        #[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadPage")]
        impl LeadPageApi {
            $(
                #[doc = concat!("List the ", $what, " of an opportunity, newest first.")]
                #[oai(path = $path, method = "get")]
                async fn $get(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>) -> poem::Result<Json<List<ActionView<$ty>>>> {
                    let cx = cx(&app, &auth.0, Action::Read).await?;
                    Ok(Json(all(service::list::<$ty>(&app, &cx, id.0).await?)))
                }

                #[doc = concat!("Add to the ", $what, " of an opportunity (needs write access to it). Answers 201 with the entry and its `Location`. A won or lost opportunity takes only comments (and documents): anything else answers 409 `opportunity_closed`.")]
                #[oai(path = $path, method = "post")]
                async fn $post(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<$ty>) -> poem::Result<Created<ActionView<$ty>>> {
                    let cx = cx(&app, &auth.0, Action::Write).await?;
                    let view = service::add(&app, &cx, id.0, body.0).await?;
                    Ok(Created::at(format!("/api/v1/opportunities/{}/{}/{}", id.0, $seg, view.id), view))
                }

                #[doc = concat!("Get one of the ", $what, " of an opportunity.")]
                #[oai(path = $item, method = "get")]
                async fn $one(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, #[oai(name = $param)] item: Path<Uuid>) -> poem::Result<Json<ActionView<$ty>>> {
                    let cx = cx(&app, &auth.0, Action::Read).await?;
                    Ok(Json(service::one::<$ty>(&app, &cx, id.0, item.0).await?))
                }
            )*

            $(
                #[doc = concat!("Correct a ", $awhat, "\n\nAbsent fields stay, `null` clears an optional one; the result is checked like a new one. By its author, or by a holder of `opportunities.actions`/`write` reaching the opportunity (managers at their establishment by default): anyone else who reaches it gets 403, someone who does not 404. Recorded in the Details tab with what changed. 409 `opportunity_closed` once the opportunity is won or lost (comments excepted).")]
                #[oai(path = $apath, method = "patch")]
                async fn $correct(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, #[oai(name = $aparam)] item: Path<Uuid>, body: JsonBody<$patch_ty>) -> poem::Result<Json<ActionView<$aty>>> {
                    let cx = cx(&app, &auth.0, Action::Write).await?;
                    Ok(Json(service::update::<$aty>(&app, &cx, id.0, item.0, body.0).await?))
                }

                #[doc = concat!("Withdraw a ", $awhat, "\n\nIt leaves the lead page; the Details tab keeps what it was. Who may: as for a correction.")]
                #[oai(path = $apath, method = "delete")]
                async fn $withdraw(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, #[oai(name = $aparam)] item: Path<Uuid>) -> poem::Result<NoContent> {
                    let cx = cx(&app, &auth.0, Action::Write).await?;
                    service::withdraw::<$aty>(&app, &cx, id.0, item.0).await?;
                    Ok(NoContent::NoContent)
                }
            )*

            /// Send the purchase order
            ///
            /// Renders the purchase order of the latest offer (customer, vehicle, price, discount,
            /// validity) in `language` (by default the customer's, else the tenant's) and queues it for the
            /// opportunity's first contact. The body may be left out. 422 `no_offer` without an offer,
            /// `customer_without_email` when the customer has no email; 409 `opportunity_closed`
            /// when the opportunity is won or lost (nothing is queued).
            #[oai(path = "/opportunities/:id/purchase-order", method = "post")]
            async fn purchase_order(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<PurchaseOrderRequest>) -> poem::Result<PurchaseOrderResponse> {
                let cx = cx(&app, &auth.0, Action::Write).await?;
                Ok(PurchaseOrderResponse::Accepted(Json(service::purchase_order(&app, &cx, id.0, body.0.language).await?)))
            }

            /// Change a task
            ///
            /// Mark it done, move its due date, hand it to someone else. Absent fields stay. 409
            /// `opportunity_closed` once the opportunity is won or lost.
            #[oai(path = "/opportunities/:id/tasks/:task_id", method = "patch")]
            async fn update_task(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, task_id: Path<Uuid>, body: JsonBody<TaskPatch>) -> poem::Result<Json<ActionView<Task>>> {
                let cx = cx(&app, &auth.0, Action::Write).await?;
                Ok(Json(service::update::<Task>(&app, &cx, id.0, task_id.0, body.0).await?))
            }

            /// Change a follow-up
            ///
            /// Record its outcome, move its deadline. Absent fields stay. 409
            /// `opportunity_closed` once the opportunity is won or lost.
            #[oai(path = "/opportunities/:id/follow-ups/:follow_up_id", method = "patch")]
            async fn update_follow_up(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>, follow_up_id: Path<Uuid>, body: JsonBody<FollowUpPatch>) -> poem::Result<Json<ActionView<FollowUp>>> {
                let cx = cx(&app, &auth.0, Action::Write).await?;
                Ok(Json(service::update::<FollowUp>(&app, &cx, id.0, follow_up_id.0, body.0).await?))
            }

            /// The Details tab: every action on the opportunity, who and when, newest first.
            #[oai(path = "/opportunities/:id/activity", method = "get")]
            async fn activity(&self, app: Data<&Arc<App>>, auth: TenantAuth, id: Path<Uuid>) -> poem::Result<Json<List<HistoryEntry>>> {
                let cx = cx(&app, &auth.0, Action::Read).await?;
                Ok(Json(all(service::history(&app, &cx, id.0).await?)))
            }
        }
    };
}

kind_routes! {
    kinds {
        "/opportunities/:id/trade-ins", "/opportunities/:id/trade-ins/:trade_in_id", "trade_in_id", "trade-ins", TradeIn, list_trade_ins, add_trade_in, get_trade_in, "trade-ins";
        "/opportunities/:id/vehicle-requests", "/opportunities/:id/vehicle-requests/:vehicle_request_id", "vehicle_request_id", "vehicle-requests", VehicleRequest, list_vehicle_requests, add_vehicle_request, get_vehicle_request, "vehicles asked about";
        "/opportunities/:id/offers", "/opportunities/:id/offers/:offer_id", "offer_id", "offers", Offer, list_offers, add_offer, get_offer, "offers";
        "/opportunities/:id/test-drives", "/opportunities/:id/test-drives/:test_drive_id", "test_drive_id", "test-drives", TestDrive, list_test_drives, add_test_drive, get_test_drive, "test drives";
        "/opportunities/:id/tasks", "/opportunities/:id/tasks/:task_id", "task_id", "tasks", Task, list_tasks, add_task, get_task, "tasks";
        "/opportunities/:id/follow-ups", "/opportunities/:id/follow-ups/:follow_up_id", "follow_up_id", "follow-ups", FollowUp, list_follow_ups, add_follow_up, get_follow_up, "follow-ups";
        "/opportunities/:id/comments", "/opportunities/:id/comments/:comment_id", "comment_id", "comments", Comment, list_comments, add_comment, get_comment, "comments";
    }
    authored {
        "/opportunities/:id/trade-ins/:trade_in_id", "trade_in_id", TradeIn, TradeInPatch, correct_trade_in, withdraw_trade_in, "trade-in";
        "/opportunities/:id/offers/:offer_id", "offer_id", Offer, OfferPatch, correct_offer, withdraw_offer, "offer";
        "/opportunities/:id/test-drives/:test_drive_id", "test_drive_id", TestDrive, TestDrivePatch, correct_test_drive, withdraw_test_drive, "test drive";
        "/opportunities/:id/comments/:comment_id", "comment_id", Comment, CommentPatch, correct_comment, withdraw_comment, "comment";
    }
}

/// Documents of the lead page.
pub struct DocumentsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::LeadPage")]
impl DocumentsApi {
    /// Upload a document
    ///
    /// The raw file is the body, with its `Content-Type` and
    /// `Content-Disposition: attachment; filename="..."`; a `multipart/form-data` form with one
    /// file part is accepted too. Accepted types: PDF, JPEG, PNG, WebP, HEIC, Word (docx),
    /// Excel (xlsx), OpenDocument text and plain text; the content must match the type (422
    /// `content_mismatch`), another type answers 415. Up to `max_upload_bytes` (20 MiB by
    /// default; 413 beyond). Needs write access to the opportunity.
    #[oai(path = "/opportunities/:id/documents", method = "post")]
    async fn upload(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        req: &Request,
        body: Binary<bytes::Bytes>,
    ) -> poem::Result<Created<Document>> {
        let cx = cx(&app, &auth.0, Action::Write).await?;
        let doc = service::upload(&app, &cx, id.0, req, body.0).await?;
        Ok(Created::at(
            format!("/api/v1/opportunities/{}/documents/{}", id.0, doc.id),
            doc,
        ))
    }

    /// List the documents of an opportunity, newest first.
    #[oai(path = "/opportunities/:id/documents", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<Document>>> {
        let cx = cx(&app, &auth.0, Action::Read).await?;
        Ok(Json(all(service::documents(&app, &cx, id.0, None).await?)))
    }

    /// Download a document
    ///
    /// Answers the file with its type, as an attachment under its name.
    #[oai(path = "/opportunities/:id/documents/:document_id", method = "get")]
    async fn download(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        document_id: Path<Uuid>,
    ) -> poem::Result<Download> {
        let cx = cx(&app, &auth.0, Action::Read).await?;
        let (doc, bytes) = service::download(&app, &cx, id.0, document_id.0).await?;
        Ok(Download::File(
            Binary(bytes),
            doc.content_type,
            files::attachment(&doc.filename),
            "nosniff".into(),
        ))
    }
}
