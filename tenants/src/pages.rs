//! The two pages the account mails link to: `/accept-invitation` and `/reset-password`. Each
//! is a small HTML form, in the account's language, that posts the link's token and the new
//! password to the JSON API; nothing else is served and nothing is loaded from elsewhere.

use crate::{
    directory::{INVITATION, PASSWORD_RESET},
    entities::{credential, tenant},
    password::MIN_LEN,
};
use forecourt_core::{App, Error, Result, mail::LANGUAGES, secret::token_hash};
use poem::{
    Request, Response, handler,
    http::{HeaderValue, StatusCode, header},
    web::{Data, Query},
};
use sea_orm::EntityTrait;
use std::sync::Arc;

/// Only our own script and style, only our own API, no framing, no base or form tricks.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

const TEMPLATE: &str = include_str!("../templates/pages/account.html");
const SCRIPT: &str = include_str!("../templates/pages/account.js");
const STYLE: &str = include_str!("../templates/pages/account.css");

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Invitation,
    Reset,
}

impl Page {
    fn kind(self) -> &'static str {
        match self {
            Page::Invitation => INVITATION,
            Page::Reset => PASSWORD_RESET,
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Page::Invitation => "/api/v1/auth/accept-invitation",
            Page::Reset => "/api/v1/auth/password-reset/confirm",
        }
    }
}

/// The query of both pages: the token as the mails send it.
#[derive(Debug, serde::Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

/// The page's texts in `lang` (one of [`LANGUAGES`]).
fn texts(page: Page, lang: &str) -> serde_json::Value {
    let (title, intro, done) = match (page, lang) {
        (Page::Invitation, "fr") => (
            "Rejoindre Forecourt",
            "Choisissez le mot de passe de votre compte.",
            "Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.",
        ),
        (Page::Invitation, "nl") => (
            "Welkom bij Forecourt",
            "Kies het wachtwoord van uw account.",
            "Uw wachtwoord is opgeslagen. U kunt zich nu aanmelden.",
        ),
        (Page::Invitation, _) => (
            "Join Forecourt",
            "Choose the password of your account.",
            "Your password is saved. You can now sign in.",
        ),
        (Page::Reset, "fr") => (
            "Nouveau mot de passe",
            "Choisissez un nouveau mot de passe. Vous serez déconnecté(e) partout.",
            "Votre nouveau mot de passe est enregistré. Connectez-vous avec celui-ci.",
        ),
        (Page::Reset, "nl") => (
            "Nieuw wachtwoord",
            "Kies een nieuw wachtwoord. U wordt overal afgemeld.",
            "Uw nieuwe wachtwoord is opgeslagen. Meld u ermee aan.",
        ),
        (Page::Reset, _) => (
            "New password",
            "Choose a new password. You will be signed out everywhere.",
            "Your new password is saved. Sign in with it.",
        ),
    };
    let common = match lang {
        "fr" => [
            "Mot de passe",
            "Confirmez le mot de passe",
            "Enregistrer",
            "Le mot de passe compte au moins 10 caractères.",
            "Les deux mots de passe diffèrent.",
            "Ce lien n'est plus valable (déjà utilisé ou expiré).",
            "Une erreur est survenue. Réessayez dans un instant.",
            "Cette page a besoin de JavaScript.",
        ],
        "nl" => [
            "Wachtwoord",
            "Bevestig het wachtwoord",
            "Opslaan",
            "Een wachtwoord telt minstens 10 tekens.",
            "De twee wachtwoorden verschillen.",
            "Deze link is niet meer geldig (al gebruikt of vervallen).",
            "Er ging iets mis. Probeer het zo meteen opnieuw.",
            "Deze pagina heeft JavaScript nodig.",
        ],
        _ => [
            "Password",
            "Confirm the password",
            "Save",
            "A password has at least 10 characters.",
            "The two passwords differ.",
            "This link is no longer valid (already used or expired).",
            "Something went wrong. Try again in a moment.",
            "This page needs JavaScript.",
        ],
    };
    let [
        password,
        confirm,
        submit,
        short,
        mismatch,
        invalid,
        error,
        noscript,
    ] = common;
    serde_json::json!({
        "title": title, "intro": intro, "done": done, "password": password,
        "confirm": confirm, "submit": submit, "short": short, "mismatch": mismatch,
        "invalid": invalid, "error": error, "noscript": noscript,
    })
}

/// The first of our languages the browser asks for, if any.
fn accepted_language(req: &Request) -> Option<&'static str> {
    let header = req.headers().get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    header.split(',').find_map(|part| {
        let tag = part.split(';').next()?.trim();
        let primary = tag.split('-').next()?.to_ascii_lowercase();
        LANGUAGES.iter().copied().find(|l| *l == primary)
    })
}

/// Whether the link's token is live, and the language of its account: the tenant's for a
/// tenant user (users have no language of their own), else what the browser asks for.
async fn link_facts(app: &App, page: Page, token: Option<&str>) -> Result<(bool, Option<String>)> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        // The token may be in the fragment, which only the script sees.
        return Ok((true, None));
    };
    let now = app.clock.now();
    // A spent or expired link still names its account: its page says so in that language.
    let Some(c) = credential::Entity::find_by_id(token_hash(token))
        .one(&app.db)
        .await?
        .filter(|c| c.kind == page.kind())
    else {
        return Ok((false, None));
    };
    let live = c.revoked_at.is_none() && c.expires_at.is_none_or(|e| e > now);
    let language = match c.tenant_id {
        Some(tid) => tenant::Entity::find_by_id(tid)
            .one(&app.db)
            .await?
            .map(|t| t.language),
        None => None,
    };
    Ok((live, language))
}

async fn render(app: &App, req: &Request, page: Page, token: Option<&str>) -> Result<Response> {
    let (valid, language) = link_facts(app, page, token).await?;
    let lang = language
        .as_deref()
        .and_then(|l| LANGUAGES.iter().copied().find(|x| *x == l))
        .or_else(|| accepted_language(req))
        .unwrap_or("en");
    let mut tera = tera::Tera::default();
    tera.add_raw_template("account.html", TEMPLATE)
        .map_err(Error::internal)?;
    let ctx = tera::Context::from_serialize(serde_json::json!({
        "lang": lang,
        "valid": valid,
        "endpoint": page.endpoint(),
        "min_length": MIN_LEN,
        "t": texts(page, lang),
    }))
    .map_err(Error::internal)?;
    let html = tera.render("account.html", &ctx).map_err(Error::internal)?;
    Ok(secured(
        Response::builder()
            .status(StatusCode::OK)
            .content_type("text/html; charset=utf-8")
            .body(html),
    ))
}

/// The headers every page and asset carries: the CSP, no sniffing, no framing, no referrer
/// (the token is in the URL), and no caching.
fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /accept-invitation?token=...`: the page of the invitation mail's link.
#[handler]
pub async fn accept_invitation(
    app: Data<&Arc<App>>,
    req: &Request,
    Query(q): Query<LinkQuery>,
) -> poem::Result<Response> {
    Ok(render(&app, req, Page::Invitation, q.token.as_deref()).await?)
}

/// `GET /reset-password?token=...`: the page of the password reset mail's link.
#[handler]
pub async fn reset_password(
    app: Data<&Arc<App>>,
    req: &Request,
    Query(q): Query<LinkQuery>,
) -> poem::Result<Response> {
    Ok(render(&app, req, Page::Reset, q.token.as_deref()).await?)
}

/// `GET /assets/account.js`: the pages' script (served, not inlined, so the CSP needs no
/// `unsafe-inline`).
#[handler]
pub fn script() -> Response {
    secured(
        Response::builder()
            .content_type("text/javascript; charset=utf-8")
            .body(SCRIPT),
    )
}

/// `GET /assets/account.css`: the pages' style.
#[handler]
pub fn style() -> Response {
    secured(
        Response::builder()
            .content_type("text/css; charset=utf-8")
            .body(STYLE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_text() {
        for page in [Page::Invitation, Page::Reset] {
            for lang in LANGUAGES {
                let t = texts(page, lang);
                for key in ["title", "intro", "done", "password", "invalid"] {
                    assert!(
                        t[key].as_str().is_some_and(|s| !s.is_empty()),
                        "{lang} {key}"
                    );
                }
            }
        }
        assert_ne!(
            texts(Page::Reset, "fr")["title"],
            texts(Page::Reset, "nl")["title"]
        );
    }
}
