//! A loopback SMTP server for the email tests: it speaks enough of RFC 5321
//! for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps each mail
//! it accepts, and answers RCPT for chosen addresses with a temporary (451)
//! or permanent (550) refusal, so that retries and failures can be tested.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-unstuffed).
    pub data: String,
}

impl Mail {
    /// A header's value (unfolded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_string());
                }
            }
        }
        value
    }

    /// The text of the mail with quoted-printable soft breaks and escapes
    /// undone, good enough to find a link in.
    pub fn text(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let mut out = String::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        let mut raw = Vec::new();
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    raw.push(b);
                    i += 3;
                    continue;
                }
            }
            raw.push(bytes[i]);
            i += 1;
        }
        out.push_str(&String::from_utf8_lossy(&raw));
        out
    }
}

pub struct Catcher {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// address -> the reply to its RCPT ("451 ..." or "550 ...").
    refuse: Arc<Mutex<HashMap<String, String>>>,
}

impl Catcher {
    /// The instance's SMTP settings for this catcher (plain SMTP on loopback).
    pub fn settings(&self) -> impl FnOnce(&mut intercoop::config::Config) {
        let port = self.port;
        move |c| {
            c.smtp = Some(intercoop::config::Smtp {
                host: "127.0.0.1".into(),
                port,
                tls: intercoop::config::SmtpTls::None,
                username: None,
                password: None,
                from: "Tea Growers <news@tea.localhost>".into(),
            })
        }
    }

    pub async fn start() -> Catcher {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let refuse: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (m, r) = (mails.clone(), refuse.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (m, r) = (m.clone(), r.clone());
                tokio::spawn(async move {
                    let _ = session(stream, m, r).await;
                });
            }
        });
        Catcher { port, mails, refuse }
    }

    pub fn refuse(&self, address: &str, reply: &str) {
        self.refuse
            .lock()
            .unwrap()
            .insert(address.to_lowercase(), reply.to_string());
    }

    pub fn accept(&self, address: &str) {
        self.refuse.lock().unwrap().remove(&address.to_lowercase());
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The mails to `address` so far.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits (up to 20 s) for a mail to `address` whose text matches.
    pub async fn wait_for(&self, address: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
        let started = Instant::now();
        loop {
            if let Some(m) = self.to(address).into_iter().find(|m| pred(m)) {
                return m;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no mail to {address} arrived; got: {:?}",
                self.mails()
                    .iter()
                    .map(|m| (&m.to, m.header("Subject")))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn address_of(arg: &str) -> String {
    let a = arg.split_once(':').map(|(_, a)| a).unwrap_or(arg).trim();
    a.trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or("")
        .to_lowercase()
}

async fn session(
    stream: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse: Arc<Mutex<HashMap<String, String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 catcher.localhost ESMTP test catcher\r\n")
        .await?;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-catcher.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK".into(),
            "HELO" => "250 catcher.localhost".into(),
            "MAIL" => {
                from = address_of(&cmd);
                to.clear();
                "250 OK".into()
            }
            "RCPT" => {
                let a = address_of(&cmd);
                match refuse.lock().unwrap().get(&a) {
                    Some(r) => r.clone(),
                    None => {
                        to.push(a);
                        "250 OK".into()
                    }
                }
            }
            "DATA" if to.is_empty() => "554 no valid recipients".into(),
            "DATA" => {
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 OK queued".into()
            }
            "RSET" => {
                to.clear();
                "250 OK".into()
            }
            "NOOP" => "250 OK".into(),
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 not implemented".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}
