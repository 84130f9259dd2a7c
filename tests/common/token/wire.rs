//! Reading one HTTP/1.1 request and writing one answer, for the token issuer. Small and strict:
//! a request line, headers, and a body of `Content-Length` bytes (at most 1 MiB).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

/// One request as received.
pub struct Incoming {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Everything received, with a Basic header's decoded `user:password` appended, so a test
    /// can ask whether a secret reached the issuer in any form.
    pub raw: String,
}

impl Incoming {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `path` and the decoded query parameters.
    pub fn path_and_query(&self) -> (&str, Vec<(String, String)>) {
        let (path, query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        (path, parse_urlencoded(query))
    }
}

pub fn read_request(conn: &TcpStream) -> std::io::Result<Incoming> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut raw = String::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    raw.push_str(&line);
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        raw.push_str(&h);
        if let Some((name, value)) = h.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = Vec::new();
    reader.take(len).read_to_end(&mut body)?;
    raw.push_str("\r\n");
    raw.push_str(&String::from_utf8_lossy(&body));
    let mut req = Incoming {
        method,
        target,
        headers,
        body,
        raw,
    };
    if let Some(decoded) = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
    {
        req.raw.push('\n');
        req.raw.push_str(&String::from_utf8_lossy(&decoded));
    }
    Ok(req)
}

/// Writes a JSON answer and closes the connection.
pub fn write_json(
    conn: TcpStream,
    status: u16,
    extra_headers: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        405 => "Method Not Allowed",
        _ => "Not Found",
    };
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// `k=v&k2=v2`, each side percent-decoded (`+` is a space).
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => match std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn rfc3339_now() -> String {
    crate::common::sigstore::rfc3339(now())
}
