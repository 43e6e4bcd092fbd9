//! Problems for requests that hyper refuses before poem sees them.
//!
//! hyper answers a request line or head it will not parse (a URI of 64 KiB or more, a head
//! larger than its read buffer, more than 100 headers, bytes that are not HTTP/1.1) itself,
//! with a bare 414, 431 or 400 and no body, and never calls the service, so the edge
//! middleware cannot turn them into problem+json. These limits are compiled into hyper. The
//! connection wrapper below recognises such an automatic answer as it is written and sends a
//! problem+json with the same status instead.
//!
//! An automatic answer is told apart from a response of ours without guessing: every response
//! that went through the edge middleware carries `x-request-id`, hyper's never does; it is a
//! head alone, with nothing after it; and it follows bytes read from the client, never a
//! part of a response body the client is waiting for.

use forecourt_core::error::Problem;
use poem::{
    http::uri::Scheme,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An acceptor whose connections answer hyper's automatic errors as problem+json.
pub struct ProblemAcceptor<A>(pub A);

impl<A: Acceptor> Acceptor for ProblemAcceptor<A> {
    type Io = ProblemIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        Ok((ProblemIo::new(io), local, remote, scheme))
    }
}

/// A connection that rewrites hyper's automatic error answers (see the module docs).
pub struct ProblemIo<T> {
    inner: T,
    /// Bytes read from the client since the last write.
    read_since_write: usize,
    /// A replacement answer accepted from hyper and not yet fully written, and how much of it
    /// is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemIo<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            read_since_write: 0,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    /// Writes what is left of a replacement answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, at)) = &mut self.pending {
            if *at >= bytes.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*at..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *at += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        self.read_since_write = self.read_since_write.saturating_add(read);
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_some() {
            match this.drain(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map(|r| r.map(|()| 0)),
            }
        }
        if this.read_since_write > 0
            && let Some(answer) = replacement(buf)
        {
            this.read_since_write = 0;
            this.pending = Some((answer, 0));
            // hyper's bytes are taken; the replacement goes out now or on flush.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            this.read_since_write = 0;
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

/// The problem+json answer replacing `written`, when `written` is exactly one of hyper's
/// automatic error heads.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != written.len() {
        return None;
    }
    let head = std::str::from_utf8(&written[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let (kind, title, detail) = match status {
        414 => (
            "uri_too_long",
            "URI too long",
            "the request URI is longer than the server accepts; send long input in a body",
        ),
        431 => (
            "headers_too_large",
            "Request headers too large",
            "the request headers are larger or more numerous than the server accepts",
        ),
        400 => (
            "bad_request",
            "Bad request",
            "the request is not valid HTTP/1.1",
        ),
        _ => return None,
    };
    let mut kept = Vec::new();
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            // Ours: the edge middleware put it there, so this is no automatic answer.
            "x-request-id" => return None,
            "content-length" | "content-type" | "connection" => {}
            _ => kept.push(line),
        }
    }
    let request_id = uuid::Uuid::now_v7().to_string();
    tracing::info!(%request_id, status, "request refused by the HTTP parser");
    let body = serde_json::to_vec(&Problem {
        kind: kind.into(),
        title: title.into(),
        status,
        detail: detail.into(),
        field: None,
        extra: None,
        request_id: Some(request_id.clone()),
    })
    .ok()?;
    let mut answer = format!(
        "{status_line}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         x-request-id: {request_id}\r\nconnection: close\r\n",
        body.len()
    );
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_automatic_heads() {
        let auto = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(replacement(auto).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert!(answer.contains("content-type: application/problem+json\r\n"));
        assert!(answer.contains("date: x\r\n"));
        assert!(answer.contains("\"type\":\"uri_too_long\""));
        let ours = b"HTTP/1.1 414 URI Too Long\r\nx-request-id: a\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none());
        let with_body = b"HTTP/1.1 431 Too Large\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement(with_body).is_none());
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
