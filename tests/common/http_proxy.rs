//! An HTTP/1.1 proxy in front of a real registry (DESIGN §10): forwards each request to the
//! registry and can inject faults (a status for the next K requests, a cut connection, a delay,
//! extra headers, a redirect to a second port) or serve what distribution 2.8.2 never sends (a
//! referrers API built from the registry's own fallback tags, `OCI-Subject` answers).
//! Bounded: every rule has a count, every connection a read timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One parsed HTTP request.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One HTTP response.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn find<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| super::token::percent_decode(v))
        })
    }
}

impl Resp {
    pub fn new(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        Resp {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// What a rule does to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status (with `Retry-After` when given) instead of forwarding.
    Status(u16, Option<u32>),
    /// Forward, then send only the first N bytes of the response body and close.
    CutResponse(usize),
    /// Read only N bytes of the request body, then close without answering.
    CutRequest(usize),
    /// Wait before forwarding.
    Delay(Duration),
    /// Forward and add a response header.
    AddHeader(String, String),
    /// Answer 307 to the same path on another base URL (`http://127.0.0.1:PORT`).
    Redirect(String),
}

/// A fault for the next `count` requests whose method matches (None: any) and whose target
/// contains `path`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub method: Option<String>,
    pub path: String,
    pub fault: Fault,
    pub count: usize,
}

impl Rule {
    pub fn new(method: Option<&str>, path: &str, fault: Fault, count: usize) -> Rule {
        Rule {
            method: method.map(str::to_string),
            path: path.to_string(),
            fault,
            count,
        }
    }
}

/// A handler that may answer a request itself (None: forward).
pub type Handler = Box<dyn Fn(&Req, &str) -> Option<Resp> + Send + Sync>;

/// One request the proxy saw: what was asked, with which headers, and the status answered
/// (0: the request was cut before an answer).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl Seen {
    /// A request header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

#[derive(Default)]
struct State {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    handlers: Mutex<Vec<Arc<Handler>>>,
    /// Add `OCI-Subject` to manifest PUT answers whose body has a `subject`.
    oci_subject: AtomicBool,
}

pub struct HttpProxy {
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub upstream: String,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

/// A request or status line and its headers.
type Head = (String, Vec<(String, String)>);

fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Head>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
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
    Ok(Some((first.trim_end().to_string(), headers)))
}

fn read_body(
    r: &mut impl BufRead,
    headers: &[(String, String)],
    limit: Option<usize>,
) -> std::io::Result<Vec<u8>> {
    if find(headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                r.read_line(&mut end)?;
                return Ok(out);
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            out.extend_from_slice(&chunk[..n]);
        }
    }
    let len: usize = find(headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; limit.map_or(len, |l| l.min(len))];
    r.read_exact(&mut body)?;
    Ok(body)
}

fn write_resp(
    w: &mut impl Write,
    resp: &Resp,
    head_only: bool,
    cut: Option<usize>,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} X\r\n", resp.status);
    for (k, v) in &resp.headers {
        if !["content-length", "transfer-encoding", "connection"]
            .contains(&k.to_ascii_lowercase().as_str())
        {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    let len = find(&resp.headers, "content-length")
        .filter(|_| head_only)
        .map(str::to_string)
        .unwrap_or(resp.body.len().to_string());
    out.push_str(&format!("Content-Length: {len}\r\n\r\n"));
    w.write_all(out.as_bytes())?;
    if !head_only {
        let n = cut.unwrap_or(resp.body.len()).min(resp.body.len());
        w.write_all(&resp.body[..n])?;
    }
    w.flush()
}

/// Sends `req` to `upstream` on a fresh connection and reads the whole answer.
pub fn forward(upstream: &str, req: &Req) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(upstream)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !["connection", "content-length", "transfer-encoding"]
            .contains(&k.to_ascii_lowercase().as_str())
        {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    s.write_all(head.as_bytes())?;
    s.write_all(&req.body)?;
    let mut r = BufReader::new(s);
    let (status_line, headers) =
        read_head(&mut r)?.ok_or_else(|| std::io::Error::other("upstream closed"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let body = if req.method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else if find(&headers, "content-length").is_some()
        || find(&headers, "transfer-encoding").is_some()
    {
        read_body(&mut r, &headers, None)?
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        b
    };
    Ok(Resp {
        status,
        headers,
        body,
    })
}

impl HttpProxy {
    /// Listens on a free loopback port, forwarding to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> HttpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, up) = (state.clone(), stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, up) = (st.clone(), up.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &st, &up);
                });
            }
        });
        HttpProxy {
            addr,
            upstream: upstream.to_string(),
            state,
            stop,
        }
    }

    /// Adds a fault rule (checked in order; the first match with count left applies).
    pub fn rule(&self, r: Rule) {
        self.state.rules.lock().unwrap().push(r);
    }

    pub fn clear_rules(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Adds a handler that may answer requests itself.
    pub fn handle(&self, h: Handler) {
        self.state.handlers.lock().unwrap().push(Arc::new(h));
    }

    /// Answer manifest PUTs that carry a `subject` with `OCI-Subject`, like an OCI 1.1 registry.
    pub fn answer_oci_subject(&self, on: bool) {
        self.state.oci_subject.store(on, Ordering::SeqCst);
    }

    /// (method, target, status) of every request seen.
    pub fn seen(&self) -> Vec<(String, String, u16)> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| (s.method.clone(), s.target.clone(), s.status))
            .collect()
    }

    /// Every request seen, with its request headers, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn take_rule(st: &State, req: &Req) -> Option<Fault> {
    let mut rules = st.rules.lock().unwrap();
    let r = rules.iter_mut().find(|r| {
        r.count > 0
            && r.method.as_deref().is_none_or(|m| m == req.method)
            && req.target.contains(&r.path)
    })?;
    r.count -= 1;
    Some(r.fault.clone())
}

fn serve(conn: TcpStream, st: &State, upstream: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    loop {
        let Some((line, headers)) = read_head(&mut r)? else {
            return Ok(());
        };
        let mut parts = line.split(' ');
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let probe = Req {
            method: method.clone(),
            target: target.clone(),
            headers: headers.clone(),
            body: Vec::new(),
        };
        let fault = take_rule(st, &probe);
        if let Some(Fault::CutRequest(n)) = fault {
            let _ = read_body(&mut r, &headers, Some(n));
            st.seen.lock().unwrap().push(Seen {
                method,
                target,
                headers,
                status: 0,
            });
            return Ok(());
        }
        let body = read_body(&mut r, &headers, None)?;
        let req = Req { body, ..probe };
        let handlers: Vec<Arc<Handler>> = st.handlers.lock().unwrap().clone();
        let mut cut = None;
        let resp = match fault {
            Some(Fault::Status(s, retry)) => {
                let ra = retry.map(|v| v.to_string()).unwrap_or_default();
                let mut h = vec![("Content-Type", "application/json")];
                if retry.is_some() {
                    h.push(("Retry-After", ra.as_str()));
                }
                Resp::new(s, &h, br#"{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}"#.to_vec())
            }
            Some(Fault::Redirect(base)) => Resp::new(
                307,
                &[("Location", &format!("{base}{}", req.target))],
                Vec::new(),
            ),
            other => {
                if let Some(Fault::Delay(d)) = other {
                    std::thread::sleep(d);
                }
                cut = match other {
                    Some(Fault::CutResponse(n)) => Some(n),
                    _ => None,
                };
                let mut resp = match handlers.iter().find_map(|h| h(&req, upstream)) {
                    Some(resp) => resp,
                    None => forward(upstream, &req)?,
                };
                if let Some(Fault::AddHeader(k, v)) = other {
                    resp.headers.push((k, v));
                }
                if st.oci_subject.load(Ordering::SeqCst)
                    && req.method == "PUT"
                    && req.path().contains("/manifests/")
                    && resp.status == 201
                {
                    let v: serde_json::Value =
                        serde_json::from_slice(&req.body).unwrap_or_default();
                    if let Some(d) = v["subject"]["digest"].as_str() {
                        resp.headers.push(("OCI-Subject".into(), d.into()));
                    }
                }
                resp
            }
        };
        st.seen.lock().unwrap().push(Seen {
            method: req.method.clone(),
            target: req.target.clone(),
            headers: req.headers.clone(),
            status: resp.status,
        });
        write_resp(&mut w, &resp, req.method == "HEAD", cut)?;
        if cut.is_some() {
            return Ok(());
        }
    }
}
