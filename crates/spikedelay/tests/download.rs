//! Downloads against a local HTTP server: resuming a partial file with a range request, and
//! refusing an archive whose checksum does not match.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use spikedelay::data::download::{download, fetch};

/// Serves `body` for any path, honouring `Range: bytes=N-`; records the range requests.
fn serve(body: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut start = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(r) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    start = r.trim().trim_end_matches('-').parse().unwrap();
                    log.lock().unwrap().push(line.trim().to_ascii_lowercase());
                }
            }
            let part = &body[start.min(body.len())..];
            let status = if start > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                part.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(part).unwrap();
        }
    });
    (url, seen)
}

#[test]
fn a_partial_download_resumes_with_a_range_request() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (url, seen) = serve(body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.bin");
    std::fs::write(dir.path().join("x.bin.part"), &body[..123_456]).unwrap();
    fetch(&format!("{url}/x.bin"), &dest, &mut ()).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!dir.path().join("x.bin.part").exists());
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["range: bytes=123456-".to_string()]
    );
}

#[test]
fn a_corrupt_archive_is_refused_and_set_aside() {
    let (url, _) = serve(b"not the real archive".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let err = download("shd", dir.path(), Some(&url), &mut ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shd_train.h5.zip") && err.contains("checksum"),
        "{err}"
    );
    assert!(dir.path().join("shd_train.h5.zip.corrupt").exists());
    assert!(!dir.path().join("shd_train.h5").exists());
}
