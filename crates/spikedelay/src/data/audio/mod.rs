//! Audio data: WAV decoding ([`wav`]), torchaudio's resampler ([`resample`]), the reference's
//! log-mel features ([`log_mel`]), class folders and their splits ([`folder`]), the feature
//! cache ([`features`]), and the `audio-folder` dataset kind ([`source`]).

pub mod features;
pub mod folder;
pub mod log_mel;
pub mod resample;
pub mod source;
pub mod wav;
