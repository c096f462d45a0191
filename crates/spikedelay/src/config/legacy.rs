//! Configurations written before the dataset kinds: `[data] dataset = "shd" | "ssc" | "gsc"`
//! with one flat set of keys for every dataset, and the generated task's settings in a
//! separate `[delay_patterns]` table. Run folders and checkpoints from those versions hold such
//! files; [`upgrade`] rewrites them, in place, as today's `[data]` table.

use toml::{Table, Value};

use crate::data::{AudioFolderConfig, SpikeFileConfig};

/// Keys of the old flat `[data]` table that meant something for spike files.
const SPIKE_KEYS: &[&str] = &[
    "dir",
    "cache_dir",
    "binning",
    "pool",
    "valid_fraction",
    "valid_seed",
    "select_on",
];

/// Keys of the old flat `[data]` table that meant something for GSC.
const AUDIO_KEYS: &[&str] = &["dir", "cache_dir", "select_on", "mel_f_max"];

/// Whether an old flat `[data]` key meant nothing for the generated task: every spike-file or
/// GSC key but `select_on`.
fn file_key(key: &str) -> bool {
    key != "select_on" && (SPIKE_KEYS.contains(&key) || AUDIO_KEYS.contains(&key))
}

fn table_of<T: serde::Serialize>(preset: T) -> Table {
    Table::try_from(preset).expect("a data preset serialises to a TOML table")
}

/// The preset `old` named, with the old keys that apply to it laid over it.
fn preset_table(name: &str, old: &Table) -> Option<Table> {
    let (mut table, kind, keys) = match name {
        "shd" => (table_of(SpikeFileConfig::shd()), "spike-file", SPIKE_KEYS),
        "ssc" => (table_of(SpikeFileConfig::ssc()), "spike-file", SPIKE_KEYS),
        "gsc" => (
            table_of(AudioFolderConfig::gsc()),
            "audio-folder",
            AUDIO_KEYS,
        ),
        _ => return None,
    };
    table.insert("dataset".into(), Value::from(kind));
    for key in keys {
        if let Some(v) = old.get(*key) {
            table.insert((*key).into(), v.clone());
        }
    }
    Some(table)
}

/// Rewrites an old-format configuration table as the current one; current tables pass
/// unchanged.
pub(super) fn upgrade(config: &mut Table) {
    let legacy_patterns = config.remove("delay_patterns");
    let data = config
        .entry("data")
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(data) = data else {
        return;
    };
    let named = data
        .get("dataset")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(table) = named.as_deref().and_then(|n| preset_table(n, data)) {
        *data = table;
        return;
    }
    if let Some(Value::Table(patterns)) = legacy_patterns {
        if named.as_deref().is_none_or(|n| n == "delay-patterns") {
            data.retain(|k, _| !file_key(k));
            for (k, v) in patterns {
                data.insert(k, v);
            }
        }
    } else if data.is_empty() {
        config.remove("data");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgraded(text: &str) -> Table {
        let mut t: Table = toml::from_str(text).unwrap();
        upgrade(&mut t);
        t
    }

    #[test]
    fn old_shd_becomes_the_spike_file_preset_with_its_keys() {
        let t = upgraded(
            "[data]\ndataset = \"shd\"\ndir = \"/d\"\npool = 7\nmel_f_max = 4000.0\n\
             binning = \"fixed-grid\"\n[delay_patterns]\nclasses = 3\n",
        );
        let d = t["data"].as_table().unwrap();
        assert_eq!(d["dataset"].as_str(), Some("spike-file"));
        assert_eq!(d["train_file"].as_str(), Some("shd_train.h5"));
        assert_eq!(d["pool"].as_integer(), Some(7));
        assert_eq!(d["dir"].as_str(), Some("/d"));
        assert_eq!(d["binning"].as_str(), Some("fixed-grid"));
        assert!(!d.contains_key("mel_f_max") && !d.contains_key("classes"));
        assert!(!t.contains_key("delay_patterns"));
    }

    #[test]
    fn old_gsc_keeps_only_audio_keys() {
        let t = upgraded("[data]\ndataset = \"gsc\"\npool = 5\nmel_f_max = 4000.0\n");
        let d = t["data"].as_table().unwrap();
        assert_eq!(d["dataset"].as_str(), Some("audio-folder"));
        assert_eq!(d["mel_f_max"].as_float(), Some(4000.0));
        assert_eq!(d["classes"].as_array().unwrap().len(), 35);
        assert!(!d.contains_key("pool"));
    }

    #[test]
    fn old_delay_patterns_table_moves_into_data() {
        let t = upgraded(
            "[data]\ndataset = \"delay-patterns\"\npool = 5\nselect_on = \"test\"\n\
             [delay_patterns]\nclasses = 4\n",
        );
        let d = t["data"].as_table().unwrap();
        assert_eq!(d["classes"].as_integer(), Some(4));
        assert_eq!(d["select_on"].as_str(), Some("test"));
        assert!(!d.contains_key("pool"));
        let current = upgraded("[data]\ndataset = \"spike-file\"\npool = 5\n");
        assert_eq!(current["data"]["pool"].as_integer(), Some(5));
        assert!(!upgraded("[model]\nhidden = [3]\n").contains_key("data"));
    }
}
