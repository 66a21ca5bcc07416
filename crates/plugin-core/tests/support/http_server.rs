//! A tiny HTTP/1.1 server on 127.0.0.1 for the HTTP task tests: one thread per connection, one
//! request per connection, routes by path.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::Duration;

/// A request as the server received it (header names in lower case).
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

pub struct Server {
    pub base: String,
    received: Receiver<Received>,
}

impl Server {
    /// Starts the server; it runs until the test process ends.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let (sender, received) = channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                thread::spawn(move || serve(stream, &sender));
            }
        });
        Self { base, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next request the server answered.
    pub fn next_request(&self) -> Received {
        self.received
            .recv_timeout(Duration::from_secs(5))
            .expect("a request reached the server")
    }
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

fn respond(mut stream: TcpStream, code: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {code} Status\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if code != 204 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn serve(stream: TcpStream, sender: &Sender<Received>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let _ = sender.send(request.clone());
    let path = request
        .path
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    match path.as_str() {
        "/hello" => respond(
            stream,
            200,
            &[("Content-Type", "application/json"), ("X-Answer", "42")],
            br#"{"hello":"world"}"#,
        ),
        "/echo" => {
            let content_type = request.header("content-type").unwrap_or("none").to_string();
            let test = request.header("x-test").unwrap_or("none").to_string();
            respond(
                stream,
                201,
                &[("X-Content-Type", &content_type), ("X-Test", &test)],
                &request.body,
            );
        }
        "/missing" => respond(stream, 404, &[], b"not here"),
        "/no-content" => respond(stream, 204, &[], b""),
        "/redirect" => respond(stream, 302, &[("Location", "/hello")], b""),
        "/empty.csv" => respond(stream, 200, &[], b""),
        "/data/orders.csv" => respond(
            stream,
            200,
            &[("Content-Type", "text/csv")],
            b"id,total\n1,10\n2,20\n",
        ),
        "/named" => respond(
            stream,
            200,
            &[("Content-Disposition", "attachment; filename=\"report.txt\"")],
            b"named file",
        ),
        "/slow" => {
            thread::sleep(Duration::from_secs(3));
            respond(stream, 200, &[], b"late");
        }
        _ => respond(stream, 500, &[], b"no route"),
    }
}
