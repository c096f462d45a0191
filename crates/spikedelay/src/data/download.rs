//! `spikedelay data download`: the official archives (docs/datasets.md §3), resumable, verified
//! against their published checksums, then extracted next to them with the md5 of every
//! extracted `.h5` recorded (`<file>.md5`, md5sum format).
//!
//! An archive already in the folder (downloaded elsewhere and copied in) is verified and used
//! without touching the network. A `.part` file is resumed with an HTTP range request.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::progress::LoadProgress;
use crate::error::{Error, Result};

/// A published checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// MD5, hex.
    Md5(&'static str),
    /// SHA-256, hex.
    Sha256(&'static str),
}

/// How an archive unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// A zip holding one `.h5` file.
    Zip,
    /// A `.tar.gz` extracted into the folder (GSC has no top-level folder).
    TarGz,
}

/// One file to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// Archive name.
    pub name: &'static str,
    /// Official address.
    pub url: &'static str,
    /// A second official host, tried when the first cannot be reached.
    pub alt_url: Option<&'static str>,
    /// Published checksum of the archive.
    pub checksum: Checksum,
    /// Unpacking.
    pub archive: Archive,
    /// What extraction produces (a file or, for GSC, a marker file of the tree).
    pub extracted: &'static str,
}

/// The datasets [`download`] can fetch.
pub const DATASETS: [&str; 3] = ["shd", "ssc", "gsc"];

/// The archives of `dataset` (one of [`DATASETS`]).
pub fn remote_files(dataset: &str) -> Result<&'static [RemoteFile]> {
    const fn zip(
        name: &'static str,
        url: &'static str,
        md5: &'static str,
        h5: &'static str,
    ) -> RemoteFile {
        RemoteFile {
            name,
            url,
            alt_url: None,
            checksum: Checksum::Md5(md5),
            archive: Archive::Zip,
            extracted: h5,
        }
    }
    const SHD: [RemoteFile; 2] = [
        zip(
            "shd_train.h5.zip",
            "https://zenkelab.org/datasets/shd_train.h5.zip",
            "f3252aeb598ac776c1b526422d90eecb",
            "shd_train.h5",
        ),
        zip(
            "shd_test.h5.zip",
            "https://zenkelab.org/datasets/shd_test.h5.zip",
            "1503a5064faa34311c398fb0a1ed0a6f",
            "shd_test.h5",
        ),
    ];
    const SSC: [RemoteFile; 3] = [
        zip(
            "ssc_train.h5.zip",
            "https://zenkelab.org/datasets/ssc_train.h5.zip",
            "d102be95e7144fcc0553d1f45ba94170",
            "ssc_train.h5",
        ),
        zip(
            "ssc_valid.h5.zip",
            "https://zenkelab.org/datasets/ssc_valid.h5.zip",
            "b4eee3516a4a90dd0c71a6ac23a8ae43",
            "ssc_valid.h5",
        ),
        zip(
            "ssc_test.h5.zip",
            "https://zenkelab.org/datasets/ssc_test.h5.zip",
            "a35ff1e9cffdd02a20eb850c17c37748",
            "ssc_test.h5",
        ),
    ];
    const GSC: [RemoteFile; 1] = [RemoteFile {
        name: "speech_commands_v0.02.tar.gz",
        url: "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        alt_url: Some(
            "https://storage.googleapis.com/download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        ),
        checksum: Checksum::Sha256(
            "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
        ),
        archive: Archive::TarGz,
        extracted: "validation_list.txt",
    }];
    match dataset {
        "shd" => Ok(&SHD),
        "ssc" => Ok(&SSC),
        "gsc" => Ok(&GSC),
        other => Err(Error::config(
            "dataset",
            format!("`{other}` cannot be downloaded; expected `shd`, `ssc` or `gsc`"),
        )),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io(action: &'static str, path: &Path) -> impl Fn(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path: path.clone(),
        source,
    }
}

/// Hex digest of a file with the algorithm of `checksum`.
pub fn file_digest(path: &Path, checksum: Checksum) -> Result<String> {
    let mut f = File::open(path).map_err(io("reading", path))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut md5, mut sha) = (Md5::new(), Sha256::new());
    loop {
        let n = f.read(&mut buf).map_err(io("reading", path))?;
        if n == 0 {
            break;
        }
        match checksum {
            Checksum::Md5(_) => md5.update(&buf[..n]),
            Checksum::Sha256(_) => sha.update(&buf[..n]),
        }
    }
    Ok(match checksum {
        Checksum::Md5(_) => hex(&md5.finalize()),
        Checksum::Sha256(_) => hex(&sha.finalize()),
    })
}

fn verify(path: &Path, checksum: Checksum) -> Result<bool> {
    let want = match checksum {
        Checksum::Md5(h) | Checksum::Sha256(h) => h,
    };
    Ok(file_digest(path, checksum)? == want)
}

/// Fetches `url` into `dest` through `dest.part`, resuming a partial download.
pub fn fetch(url: &str, dest: &Path, progress: &mut dyn LoadProgress) -> Result<()> {
    let part = PathBuf::from(format!("{}.part", dest.display()));
    let have = std::fs::metadata(&part).map_or(0, |m| m.len());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let fail = |message: String| Error::Download {
        url: url.to_string(),
        message,
    };
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::StatusCode(416)) if have > 0 => {
            // Range past the end: the part file is complete.
            return std::fs::rename(&part, dest).map_err(io("renaming", &part));
        }
        Err(ureq::Error::StatusCode(code)) => {
            return Err(fail(format!("the server answered HTTP {code}")));
        }
        Err(e) => {
            return Err(fail(format!(
                "cannot reach the server ({e}). If this machine has no network access, download \
                 the file elsewhere and copy it to {}; rerunning then verifies and extracts it",
                dest.display()
            )));
        }
    };
    let resumed = response.status().as_u16() == 206;
    let length: Option<u64> = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .map_err(io("writing", &part))?;
    let start = if resumed { have } else { 0 };
    progress.start(
        &format!("downloading {}", dest.display()),
        length.map_or(0, |l| (l + start) as usize),
    );
    progress.advance(start as usize);
    let mut body = response.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut buf).map_err(|e| {
            fail(format!(
                "the connection broke ({e}); rerun the command to resume from {}",
                part.display()
            ))
        })?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(io("writing", &part))?;
        progress.advance(n);
    }
    out.sync_all().map_err(io("writing", &part))?;
    progress.finish();
    std::fs::rename(&part, dest).map_err(io("renaming", &part))
}

fn extract(file: &RemoteFile, archive: &Path, dir: &Path) -> Result<()> {
    let bad = |m: String| Error::data(archive, m);
    match file.archive {
        Archive::Zip => {
            let f = File::open(archive).map_err(io("reading", archive))?;
            let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a zip ({e})")))?;
            let mut entry = zip
                .by_name(file.extracted)
                .map_err(|e| bad(format!("has no `{}` ({e})", file.extracted)))?;
            let target = dir.join(file.extracted);
            let tmp = dir.join(format!(".{}.tmp", file.extracted));
            let mut out = File::create(&tmp).map_err(io("writing", &tmp))?;
            std::io::copy(&mut entry, &mut out)
                .map_err(|e| bad(format!("corrupt entry `{}` ({e})", file.extracted)))?;
            out.sync_all().map_err(io("writing", &tmp))?;
            std::fs::rename(&tmp, &target).map_err(io("renaming", &tmp))?;
            let md5 = file_digest(&target, Checksum::Md5(""))?;
            let record = format!("{md5}  {}\n", file.extracted);
            crate::atomic_file::write_atomic(
                &dir.join(format!("{}.md5", file.extracted)),
                record.as_bytes(),
            )
        }
        Archive::TarGz => {
            let f = File::open(archive).map_err(io("reading", archive))?;
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
            tar.unpack(dir)
                .map_err(|e| bad(format!("corrupt or truncated tar.gz ({e})")))
        }
    }
}

/// Downloads (or finds), verifies and extracts every archive of `dataset` into `dir`; with
/// `mirror`, fetches `mirror/<archive name>` instead of the official address.
pub fn download(
    dataset: &str,
    dir: &Path,
    mirror: Option<&str>,
    progress: &mut dyn LoadProgress,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let mut done = Vec::new();
    for file in remote_files(dataset)? {
        let target = dir.join(file.extracted);
        let archive = dir.join(file.name);
        if target.exists() && !archive.exists() {
            done.push(target);
            continue;
        }
        if !archive.exists() {
            match mirror {
                Some(m) => {
                    let url = format!("{}/{}", m.trim_end_matches('/'), file.name);
                    fetch(&url, &archive, progress)?;
                }
                None => match (fetch(file.url, &archive, progress), file.alt_url) {
                    (Ok(()), _) => {}
                    (Err(_), Some(alt)) => fetch(alt, &archive, progress)?,
                    (Err(e), None) => return Err(e),
                },
            }
        }
        if !verify(&archive, file.checksum)? {
            let bad = PathBuf::from(format!("{}.corrupt", archive.display()));
            std::fs::rename(&archive, &bad).map_err(io("renaming", &archive))?;
            return Err(Error::data(
                &archive,
                format!(
                    "checksum mismatch (expected {:?}); moved to {} — rerun to download again",
                    file.checksum,
                    bad.display()
                ),
            ));
        }
        if !target.exists() {
            extract(file, &archive, dir)?;
        }
        done.push(target);
    }
    Ok(done)
}
