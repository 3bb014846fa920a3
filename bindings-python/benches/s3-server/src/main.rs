//! The S3 server of the Python client benchmark: s3s-fs's S3 service over a folder, on
//! 127.0.0.1, with `TCP_NODELAY` set on every connection.
//!
//! The `s3s-fs` binary leaves Nagle's algorithm on. Its small responses then wait for the
//! client's delayed ACK (tens of milliseconds), which caps every client near 2,000 requests/s
//! and hides what the clients themselves cost. Production S3 servers disable Nagle; so does
//! this one, and nothing else differs from `s3s-fs`.
//!
//! Usage: `lakeroute-bench-s3-server PORT ROOT` (access key and secret are both `testing`).

use std::process::ExitCode;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s_fs::FileSystem;
use tokio::net::TcpListener;

const USAGE: &str = "usage: lakeroute-bench-s3-server PORT ROOT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, root] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("port {port:?} is not a number from 0 to 65535\n{USAGE}");
        return ExitCode::from(2);
    };
    match serve(port, root) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lakeroute-bench-s3-server on 127.0.0.1:{port} over {root:?}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn serve(port: u16, root: &str) -> Result<(), String> {
    let fs = FileSystem::new(root).map_err(|e| format!("cannot serve the folder: {e:?}"))?;
    let mut service = S3ServiceBuilder::new(fs);
    service.set_auth(SimpleAuth::from_single("testing", "testing"));
    let service = service.build();
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let http = Builder::new(TokioExecutor::new());
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        if let Err(e) = socket.set_nodelay(true) {
            eprintln!("cannot set TCP_NODELAY: {e}");
        }
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            // A client that drops its connection mid-request ends only that connection.
            let _ = conn.await;
        });
    }
}
