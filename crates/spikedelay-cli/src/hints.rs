//! Hints that name the flag or command which fixes an error, chosen by the library error's type
//! (never by its text) and printed under it by `main`.

use spikedelay::Error;
use spikedelay::data::DataConfig;

/// An error carrying a hint that depends on what the command was doing (the dataset it read).
#[derive(Debug)]
pub struct Hinted {
    /// The error.
    pub error: anyhow::Error,
    /// What to do about it.
    pub hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Hinted {}

/// The hint for `err`: a [`Hinted`] one, or the one for the first library error in its chain.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    if let Some(h) = err.chain().find_map(|c| c.downcast_ref::<Hinted>()) {
        return Some(h.hint.clone());
    }
    let lib = err.chain().find_map(|c| c.downcast_ref::<Error>())?;
    Some(
        match lib {
            Error::NothingToResume { .. } => "train without --resume",
            Error::RunExists { .. } => {
                "continue it with --resume, replace it with --overwrite, or choose another --out"
            }
            Error::OtherConfiguration { .. } => {
                "choose another --out, or replace its runs with --overwrite"
            }
            Error::DataDirMissing { .. } => "pass --data-dir DIR",
            Error::DataDirNotApplicable { .. } => {
                "choose a dataset that is read from files: --preset shd|ssc|gsc, or \
                 `dataset = \"spike-file\"` / `\"audio-folder\"` in the [data] table of --config"
            }
            Error::DelaysBeyondLimit { .. } => {
                "--clip-delays clips them (those synapses then arrive at the target's limit)"
            }
            Error::Device(_) => "train on the CPU with --device cpu",
            _ => return None,
        }
        .to_string(),
    )
}

/// `e`, from loading `data`, with the command that gets a missing dataset.
pub fn with_data_hint(e: Error, data: &DataConfig) -> anyhow::Error {
    let hint = match (&e, data) {
        (Error::NotFound { .. }, DataConfig::SpikeFile(_)) => {
            let name = data.name();
            if ["shd", "ssc"].contains(&name.as_str()) {
                format!(
                    "get it with `spikedelay data download {name} --data-dir DIR`, or write a \
                     stand-in with `spikedelay data make-synthetic --format shd DIR`"
                )
            } else {
                "spike files in the SHD layout; `spikedelay data make-synthetic --format shd DIR` \
                 writes a stand-in"
                    .into()
            }
        }
        (Error::NotFound { .. }, DataConfig::AudioFolder(_)) => {
            "get GSC with `spikedelay data download gsc --data-dir DIR`, or write a stand-in with \
             `spikedelay data make-synthetic --format gsc DIR`"
                .into()
        }
        _ => return anyhow::Error::new(e),
    };
    anyhow::Error::new(Hinted {
        error: anyhow::Error::new(e),
        hint,
    })
}
