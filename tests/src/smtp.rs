//! A real SMTP receiver for tests: listens on a local port, speaks enough SMTP (RFC 5321)
//! for a client such as lettre to deliver, and keeps every message it accepts.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A message as received: envelope and data.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed.
    pub data: String,
}

/// A running receiver; stops with the test's runtime.
#[derive(Clone)]
pub struct SmtpReceiver {
    /// `smtp://127.0.0.1:PORT`, for `smtp_url`.
    pub url: String,
    messages: Arc<Mutex<Vec<Received>>>,
}

impl SmtpReceiver {
    /// Starts listening on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("smtp port");
        let addr = listener.local_addr().expect("smtp address");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(socket, store).await;
                });
            }
        });
        Self {
            url: format!("smtp://{addr}"),
            messages,
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits up to 10 s for a message to `to`.
    pub async fn wait_for(&self, to: &str) -> Received {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t == to))
            {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no SMTP delivery to {to}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.rfind('>').unwrap_or(arg.len());
    arg.get(start..end).unwrap_or("").to_string()
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 test.localhost ESMTP ready\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-test.localhost\r\n250 8BITMIME\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 test.localhost\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&cmd[8..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if let Ok(mut m) = store.lock() {
                m.push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
            }
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
