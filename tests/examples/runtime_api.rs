//! A tiny local Lambda Runtime API for start-up and memory benchmarks (`make bench`).
//!
//!     runtime_api BINARY EVENT_JSON [INVOCATIONS]
//!
//! Spawns BINARY (a `bootstrap`) with `AWS_LAMBDA_RUNTIME_API` pointing here, serves it
//! EVENT_JSON INVOCATIONS times (default 100) through `GET …/invocation/next`, accepts
//! its `POST …/response` and `…/error`, then reads the process's peak RSS (VmHWM) and
//! stops it. Prints one JSON line: the time from spawn to the first poll, the peak RSS,
//! how many invocations answered with a response or an error, and the last of each (so a
//! benchmark of the error path cannot pass for one of the real work).
//!
//! The environment is passed through, plus the variables Lambda sets for a function.
//! Only std: this measures the function, so the harness stays out of its way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

enum Seen {
    /// A `GET …/next`, with the connection to answer on once an event is due.
    Next(TcpStream),
    Response(String),
    Error(String),
    InitError(String),
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: runtime_api BINARY EVENT_JSON [INVOCATIONS]");
        std::process::exit(2);
    }
    let binary = &args[1];
    let event = args[2].clone();
    let invocations: usize = args.get(3).map_or(100, |n| n.parse().expect("INVOCATIONS"));
    serde_check(&event);

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the runtime API");
    let port = listener.local_addr().expect("local address").port();
    let (seen_tx, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = seen_tx.clone();
            std::thread::spawn(move || serve(stream, tx));
        }
    });

    let name = std::path::Path::new(binary)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {binary}: {e}"));
    let pid = child.id();

    let mut first_poll = None;
    let (mut responses, mut errors, mut served) = (0usize, 0usize, 0usize);
    let mut last_error = String::new();
    let mut last_response = String::new();
    let mut peak_kb = 0u64;
    loop {
        let Ok(message) = seen.recv_timeout(Duration::from_secs(60)) else {
            last_error = "no request from the function for 60 s".into();
            break;
        };
        match message {
            Seen::Next(mut stream) => {
                first_poll.get_or_insert_with(|| spawned.elapsed());
                peak_kb = peak_kb.max(vm_hwm_kb(pid));
                if served == invocations {
                    break;
                }
                served += 1;
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_millis()
                    + 30_000;
                let headers = format!(
                    "Lambda-Runtime-Aws-Request-Id: bench-{served}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:{name}\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
                );
                let _ = respond(&mut stream, 200, &headers, event.as_bytes());
            }
            Seen::Response(body) => {
                responses += 1;
                last_response = body;
            }
            Seen::Error(body) => {
                errors += 1;
                last_error = body;
            }
            Seen::InitError(body) => {
                last_error = format!("init error: {body}");
                break;
            }
        }
    }
    peak_kb = peak_kb.max(vm_hwm_kb(pid));
    let _ = child.kill();
    let _ = child.wait();

    let first_poll_ms = first_poll.map(|d| d.as_secs_f64() * 1000.0);
    println!(
        "{{\"function\":\"{name}\",\"first_poll_ms\":{},\"peak_rss_mb\":{:.1},\"invocations\":{served},\"responses\":{responses},\"errors\":{errors},\"last_response\":{},\"last_error\":{}}}",
        first_poll_ms.map_or("null".into(), |ms| format!("{ms:.1}")),
        peak_kb as f64 / 1024.0,
        json_string(&last_response),
        json_string(&last_error),
    );
}

/// The event must be JSON: a typo in the bench script should not pass as an error rate.
fn serde_check(event: &str) {
    let trimmed = event.trim_start();
    assert!(
        trimmed.starts_with('{') || trimmed.starts_with('['),
        "EVENT_JSON must be a JSON object or array"
    );
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars().take(300) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Peak resident set size of `pid` in kB (0 once it is gone).
fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One keep-alive connection from the runtime client: requests in, `Seen` out.
fn serve(stream: TcpStream, seen: mpsc::Sender<Seen>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        let mut writer = stream.try_clone().expect("clone the stream");
        if method == "GET" && path == NEXT {
            // Answered by main when the next event is due.
            if seen.send(Seen::Next(writer)).is_err() {
                return;
            }
            continue;
        }
        let message = if path.ends_with("/response") {
            Seen::Response(body)
        } else if path.ends_with("/init/error") {
            Seen::InitError(body)
        } else if path.ends_with("/error") {
            Seen::Error(body)
        } else {
            let _ = respond(&mut writer, 404, "", b"{}");
            continue;
        };
        let _ = respond(&mut writer, 202, "", b"{\"status\":\"OK\"}");
        if seen.send(message).is_err() {
            return;
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return body;
        }
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() || size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn respond(stream: &mut TcpStream, status: u16, headers: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        _ => "Not Found",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}
