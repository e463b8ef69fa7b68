//! The names of what a provisioned cluster is made of.

use super::*;

pub fn writer_id(cluster_id: &str) -> String {
    format!("{cluster_id}-writer")
}

/// Readers are numbered from 1: `<id>-reader`, `<id>-reader-2`, …
pub fn reader_id(cluster_id: &str, n: u32) -> String {
    if n <= 1 {
        format!("{cluster_id}-reader")
    } else {
        format!("{cluster_id}-reader-{n}")
    }
}

/// The cluster an instance belongs to, from our naming; `None` for names we did not give.
pub fn cluster_of_instance(instance_id: &str) -> Option<&str> {
    if let Some(cluster) = instance_id.strip_suffix("-writer") {
        return Some(cluster).filter(|c| !c.is_empty());
    }
    if let Some(cluster) = instance_id.strip_suffix("-reader") {
        return Some(cluster).filter(|c| !c.is_empty());
    }
    let (head, n) = instance_id.rsplit_once('-')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    head.strip_suffix("-reader").filter(|c| !c.is_empty())
}

/// `<id>-final-<yyyymmddhhmm>`: the only final-snapshot name the template's IAM allows.
pub fn final_snapshot_id(cluster_id: &str, now: DateTime<Utc>) -> String {
    format!("{cluster_id}-final-{}", now.format("%Y%m%d%H%M"))
}

/// The description acu-pilot gives the parameter groups it creates: it lets a teardown
/// that outlived its cluster still find the group.
pub fn parameter_group_description(cluster_id: &str) -> String {
    format!("acu-pilot: created for cluster {cluster_id}")
}
