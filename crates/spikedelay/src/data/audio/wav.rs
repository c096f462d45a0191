//! WAV decoding for audio folders: any sample rate, integer bit depth (8–32) or 32-bit float,
//! any channel count; downmixed to mono by averaging channels. Integer samples are scaled by
//! `2^(bits−1)` (16-bit: `s / 32768`, torchaudio's normalised loading, docs/datasets.md §2.2).

use std::path::Path;

use crate::error::{Error, Result};

/// Mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples in [−1, 1).
    pub samples: Vec<f32>,
    /// Sample rate, Hz.
    pub sample_rate: usize,
}

/// Reads `path` as mono float audio; errors name the file and what is wrong.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let err = |m: String| Error::data(path, m);
    let reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(source) => Error::Io {
            action: "reading WAV",
            path: path.to_path_buf(),
            source,
        },
        other => err(format!("not a readable WAV file ({other})")),
    })?;
    let spec = reader.spec();
    let channels = spec.channels as usize;
    if channels == 0 || spec.sample_rate == 0 {
        return Err(err(format!(
            "WAV header has {} channels at {} Hz",
            spec.channels, spec.sample_rate
        )));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| err(format!("truncated or corrupt WAV data ({e})")))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| (v as f64 * scale) as f32))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| err(format!("truncated or corrupt WAV data ({e})")))?
        }
    };
    if interleaved.is_empty() {
        return Err(err("WAV file holds no audio samples".into()));
    }
    let samples = if channels == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    Ok(Audio {
        samples,
        sample_rate: spec.sample_rate as usize,
    })
}

/// Writes mono 16-bit PCM (`round(x · 32767)`, clipped), atomically.
pub fn write_wav_i16(path: &Path, samples: &[f32], sample_rate: u32) -> Result<()> {
    write_wav(path, samples, 1, sample_rate, 16)
}

/// Writes interleaved integer PCM of `bits` bits (`round(x · (2^(bits−1) − 1))`, clipped),
/// atomically.
pub fn write_wav(
    path: &Path,
    interleaved: &[f32],
    channels: u16,
    sample_rate: u32,
    bits: u16,
) -> Result<()> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let e = |e: hound::Error| Error::data(path, format!("encoding WAV: {e}"));
    let full = ((1i64 << (bits - 1)) - 1) as f32;
    let mut bytes = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut bytes, spec).map_err(e)?;
        for &s in interleaved {
            w.write_sample((s.clamp(-1.0, 1.0) * full).round() as i32)
                .map_err(e)?;
        }
        w.finalize().map_err(e)?;
    }
    crate::atomic_file::write_atomic(path, &bytes.into_inner())
}
