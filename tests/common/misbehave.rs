//! A misbehaving front for a real registry (DESIGN §10): it forwards every request, except
//! that requests matching a rule get headers and then a stalled body, a body dripped a byte at
//! a time, or no answer at all. Also a black hole: a port that accepts and never answers.
//! Bounded: a held connection is released after `HOLD` or as soon as the client goes away.

use super::http_proxy::{forward, Req};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a misbehaving answer keeps a connection.
const HOLD: Duration = Duration::from_secs(30);

/// What a rule does to a matching request.
#[derive(Clone, Copy, Debug)]
pub enum Act {
    /// Forward, send the headers and the first N body bytes, then nothing more.
    Stall(usize),
    /// Forward, send the headers, then one body byte per interval.
    Drip(Duration),
    /// Read the whole request and never answer.
    Silent,
}

#[derive(Clone, Debug)]
struct Rule {
    method: String,
    path: String,
    act: Act,
    count: usize,
}

/// One request as seen: method, target, `Range` header, and the act applied (None: forwarded).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub range: Option<String>,
    pub act: Option<Act>,
}

pub struct Front {
    /// `127.0.0.1:PORT`
    pub addr: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Front {
    /// Listens on a free loopback port in front of `upstream` (`host:port`, plain http).
    pub fn start(upstream: &str) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, st, up) = (
            rules.clone(),
            seen.clone(),
            stop.clone(),
            upstream.to_string(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s, up) = (r.clone(), s.clone(), up.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &r, &s, &up);
                });
            }
        });
        Front {
            addr,
            rules,
            seen,
            stop,
        }
    }

    /// `act` for the next `count` requests with this method whose target contains `path`.
    pub fn rule(&self, method: &str, path: &str, act: Act, count: usize) {
        self.rules.lock().unwrap().push(Rule {
            method: method.into(),
            path: path.into(),
            act,
            count,
        });
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

/// A port that accepts connections (the kernel's backlog does) and never answers; keep the
/// listener alive for as long as the port should stay silent.
pub fn black_hole() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// Reads one request; None at the end of the connection or when it is not HTTP (a TLS
/// ClientHello: the connection is closed, as a plain http server does).
fn read_request(r: &mut impl BufRead) -> std::io::Result<Option<Req>> {
    let mut first = Vec::new();
    if r.read_until(b'\n', &mut first)? == 0 {
        return Ok(None);
    }
    let Ok(first) = String::from_utf8(first) else {
        return Ok(None);
    };
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    if !v.starts_with("HTTP/1.") {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(r)?
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        body
    };
    Ok(Some(Req {
        method: method.into(),
        target: target.into(),
        headers,
        body,
    }))
}

fn read_chunked(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size)?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
        let mut chunk = vec![0; n + 2];
        r.read_exact(&mut chunk)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

fn take(rules: &Mutex<Vec<Rule>>, req: &Req) -> Option<Act> {
    let mut rules = rules.lock().unwrap();
    let r = rules
        .iter_mut()
        .find(|r| r.count > 0 && r.method == req.method && req.target.contains(&r.path))?;
    r.count -= 1;
    Some(r.act)
}

/// Keeps the connection open without a word until the client leaves or `HOLD` passes.
fn hold(conn: &TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < HOLD {
        match (&*conn).read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn serve(
    conn: TcpStream,
    rules: &Mutex<Vec<Rule>>,
    seen: &Mutex<Vec<Seen>>,
    upstream: &str,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(HOLD))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn.try_clone()?);
    while let Some(req) = read_request(&mut r)? {
        let act = take(rules, &req);
        seen.lock().unwrap().push(Seen {
            method: req.method.clone(),
            target: req.target.clone(),
            range: req.header("range").map(str::to_string),
            act,
        });
        if let Some(Act::Silent) = act {
            hold(&conn);
            return Ok(());
        }
        let resp = forward(upstream, &req)?;
        let mut head = format!("HTTP/1.1 {} X\r\n", resp.status);
        for (k, v) in &resp.headers {
            if !["content-length", "transfer-encoding", "connection"]
                .contains(&k.to_ascii_lowercase().as_str())
            {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        let len = match resp.header("content-length") {
            Some(l) if req.method == "HEAD" => l.to_string(),
            _ => resp.body.len().to_string(),
        };
        head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        w.write_all(head.as_bytes())?;
        let body: &[u8] = if req.method == "HEAD" {
            &[]
        } else {
            &resp.body
        };
        match act {
            Some(Act::Stall(n)) => {
                w.write_all(&body[..n.min(body.len())])?;
                w.flush()?;
                hold(&conn);
                return Ok(());
            }
            Some(Act::Drip(every)) => {
                let start = Instant::now();
                for b in body {
                    if start.elapsed() > HOLD {
                        break;
                    }
                    w.write_all(std::slice::from_ref(b))?;
                    w.flush()?;
                    std::thread::sleep(every);
                }
                return Ok(());
            }
            _ => {
                w.write_all(body)?;
                w.flush()?;
            }
        }
    }
    Ok(())
}
