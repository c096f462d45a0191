//! `ArrayData`: a dataset held as dense arrays, for data that comes from the caller (the Python
//! package's `train(config, data=...)`, tonic or any other loader): frames `(N, T, C)`, a label
//! per sample and optionally each sample's length (frames after it are padding).

use super::dataset::Dataset;
use crate::error::{Error, Result};

/// Samples as one dense `(N, T, C)` array.
#[derive(Debug, Clone)]
pub struct ArrayData {
    frames: Vec<f32>,
    steps: usize,
    channels: usize,
    labels: Vec<usize>,
    lengths: Vec<usize>,
    classes: usize,
}

impl ArrayData {
    /// Checks and holds `frames` (`n·steps·channels` values), `labels` (`< classes`) and
    /// `lengths` (each `1..=steps`; `None`: every sample is `steps` long). `what` names the
    /// split in errors.
    pub fn new(
        what: &str,
        frames: Vec<f32>,
        shape: (usize, usize, usize),
        labels: Vec<usize>,
        lengths: Option<Vec<usize>>,
        classes: usize,
    ) -> Result<Self> {
        let (n, steps, channels) = shape;
        if frames.len() != n * steps * channels {
            return Err(Error::shape(what, n * steps * channels, frames.len()));
        }
        if n == 0 || steps == 0 || channels == 0 {
            return Err(Error::config(
                what,
                format!("needs samples, steps and channels; got shape ({n}, {steps}, {channels})"),
            ));
        }
        if labels.len() != n {
            return Err(Error::shape(format!("{what} labels"), n, labels.len()));
        }
        if let Some((i, y)) = labels.iter().enumerate().find(|(_, y)| **y >= classes) {
            return Err(Error::config(
                format!("{what} labels"),
                format!("sample {i} has class {y}, but there are {classes} classes"),
            ));
        }
        if let Some(k) = frames.iter().position(|v| !v.is_finite()) {
            return Err(Error::config(
                what,
                format!("sample {} holds a non-finite value", k / (steps * channels)),
            ));
        }
        let lengths = lengths.unwrap_or_else(|| vec![steps; n]);
        if lengths.len() != n {
            return Err(Error::shape(format!("{what} lengths"), n, lengths.len()));
        }
        if let Some((i, l)) = lengths
            .iter()
            .enumerate()
            .find(|(_, l)| !(1..=steps).contains(*l))
        {
            return Err(Error::config(
                format!("{what} lengths"),
                format!("sample {i} is {l} steps long; lengths must be 1..={steps}"),
            ));
        }
        Ok(ArrayData {
            frames,
            steps,
            channels,
            labels,
            lengths,
            classes,
        })
    }
}

impl Dataset for ArrayData {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i]
    }
    fn steps(&self, i: usize) -> usize {
        self.lengths[i]
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        let n = self.lengths[i] * self.channels;
        let start = i * self.steps * self.channels;
        for (o, v) in out[..n].iter_mut().zip(&self.frames[start..start + n]) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_give_their_frames_and_refuse_bad_shapes() {
        let frames: Vec<f32> = (0..2 * 3 * 2).map(|v| v as f32).collect();
        let d = ArrayData::new(
            "train",
            frames.clone(),
            (2, 3, 2),
            vec![1, 0],
            Some(vec![3, 2]),
            2,
        )
        .unwrap();
        let mut out = vec![0.0; 4];
        d.write_frames(1, &mut out);
        assert_eq!(out, vec![6.0, 7.0, 8.0, 9.0]);
        assert_eq!((d.steps(1), d.label(0), d.classes()), (2, 1, 2));
        let e = ArrayData::new("train", frames.clone(), (2, 3, 2), vec![1, 5], None, 2);
        assert!(e.unwrap_err().to_string().contains("class 5"));
        let e = ArrayData::new("valid", frames, (2, 3, 3), vec![0, 0], None, 2);
        assert!(e.unwrap_err().to_string().contains("valid"));
    }
}
