//! Which account × region pairs the scheduled sweeps manage (the targets), and the unit of
//! work a tick fans out per target.
//!
//! The targets list is text an operator keeps in an SSM parameter: entries separated by
//! commas or line breaks, `#` to the end of a line is a comment. An entry is an account
//! (`111122223333`, in the hub's region), an account in a region
//! (`111122223333:eu-west-1`), or every active account directly under an Organizations
//! OU or root (`ou-ab12-cdef3456`, `r-ab12`, each optionally `:<region>`). No list at all
//! means the hub's own account and region only: a single-account deployment.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::events::Origin;

/// The field every targets-list error is named under, with the entry's index.
pub const TARGETS_FIELD: &str = "targets";

/// One entry of the targets list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// One account in one region.
    Account(Origin),
    /// Every active account whose parent is this OU or root (Organizations'
    /// ListAccountsForParent), in one region.
    Parent { parent: String, region: String },
}

/// The entries of a targets list, in order; the hub's region stands in for an entry's
/// missing region. An error names the first bad entry (`targets[i]`) and why.
pub fn parse_targets(text: &str, home_region: &str) -> Result<Vec<TargetSpec>> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(i, entry)| {
            parse_entry(entry, home_region)
                .map_err(|why| Error::invalid(format!("{TARGETS_FIELD}[{i}] ({entry})"), why))
        })
        .collect()
}

fn parse_entry(entry: &str, home_region: &str) -> std::result::Result<TargetSpec, String> {
    let (name, region) = match entry.split_once(':') {
        Some((name, region)) => (name.trim(), region.trim()),
        None => (entry, home_region),
    };
    if !is_region(region) {
        return Err(format!(
            "{region:?} is not an AWS region (such as eu-west-1)"
        ));
    }
    let region = region.to_owned();
    if is_account(name) {
        return Ok(TargetSpec::Account(Origin {
            account: name.to_owned(),
            region,
        }));
    }
    if is_parent(name) {
        return Ok(TargetSpec::Parent {
            parent: name.to_owned(),
            region,
        });
    }
    Err(format!(
        "{name:?} is neither a 12-digit account id nor an Organizations OU (ou-…) or root (r-…) id"
    ))
}

pub fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `xx-name-N` or `xx-gov-name-N`: lowercase words joined by dashes, ending in a number.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Organizations' own patterns: `ou-` + 4–32 + `-` + 8–32, `r-` + 4–32 (lowercase, digits).
fn is_parent(text: &str) -> bool {
    let word = |w: &str, min: usize| {
        (min..=32).contains(&w.len())
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(rest) = text.strip_prefix("ou-") {
        return rest
            .split_once('-')
            .is_some_and(|(root, ou)| word(root, 4) && word(ou, 8));
    }
    text.strip_prefix("r-").is_some_and(|root| word(root, 4))
}

/// One target's share of a tick: what the tick sends (one SQS message per target) and what
/// the function does on receiving it, or on a direct invoke naming a `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetWork {
    pub target: Origin,
    /// The tick's own event, handed on to the sweep of this target (a janitor `clusters`
    /// filter, the schedule's id and time for the logs).
    #[serde(default)]
    pub tick: Value,
}

impl TargetWork {
    /// Two messages of one target never run at once (the FIFO queue's message group): the
    /// sweeps rewrite tags read-modify-write.
    pub fn group(&self) -> String {
        format!("{}-{}", self.target.account, self.target.region)
    }

    /// The same tick delivered twice (a scheduler retry) sends the same ids, which the FIFO
    /// queue drops within its five-minute deduplication window.
    pub fn deduplication_id(&self, tick_id: &str) -> String {
        let id: String = format!("{}-{tick_id}", self.group())
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
            .collect();
        id.chars().take(128).collect()
    }
}

/// What a pre-scaler or janitor invocation was asked to do.
#[derive(Debug)]
pub enum FleetEvent {
    /// The schedule's tick (any other JSON object): sweep every target.
    Tick(Value),
    /// A direct invoke naming one `target` (`{"target": {"account", "region"}, …}`).
    Target(TargetWork),
    /// The fan-out queue's batch: each record's message id and its work, or why its body
    /// is unreadable.
    Queued(Vec<(String, Result<TargetWork>)>),
}

/// Sorts an event into [`FleetEvent`]. An SQS batch is recognised by its records'
/// `eventSource`; a `target` that does not parse is an error naming it.
pub fn classify(event: Value) -> Result<FleetEvent> {
    if let Some(records) = event.get("Records").and_then(Value::as_array)
        && !records.is_empty()
        && records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
    {
        let work = records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let id = record
                    .get("messageId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let body = record.get("body").and_then(Value::as_str).unwrap_or("");
                let work = serde_json::from_str::<TargetWork>(body)
                    .map_err(|e| Error::invalid(format!("Records[{i}].body"), e.to_string()))
                    .and_then(checked);
                (id, work)
            })
            .collect();
        return Ok(FleetEvent::Queued(work));
    }
    if event.get("target").is_some() {
        let work: TargetWork = serde_json::from_value(json_target(&event))
            .map_err(|e| Error::invalid("target", e.to_string()))?;
        return checked(work).map(FleetEvent::Target);
    }
    Ok(FleetEvent::Tick(event))
}

/// A direct invoke's `{"target": …, <rest>}`: the rest is the tick the target's sweep sees.
fn json_target(event: &Value) -> Value {
    let mut tick = event.clone();
    let target = tick
        .as_object_mut()
        .and_then(|fields| fields.remove("target"))
        .unwrap_or(Value::Null);
    serde_json::json!({"target": target, "tick": tick})
}

fn checked(work: TargetWork) -> Result<TargetWork> {
    if !is_account(&work.target.account) {
        return Err(Error::invalid(
            "target.account",
            format!("{:?} is not a 12-digit account id", work.target.account),
        ));
    }
    if !is_region(&work.target.region) {
        return Err(Error::invalid(
            "target.region",
            format!("{:?} is not an AWS region", work.target.region),
        ));
    }
    Ok(work)
}

/// Where a provisioner request asks to act: its own `account` and `region`, either may be
/// missing (then the hub's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub account: Option<String>,
    pub region: Option<String>,
}

/// Takes a provision / onboard / decommission request's `account` and `region` out of
/// `event` (an acu-pilot event's `detail`, or beside a direct invoke's `action`; never an
/// EventBridge envelope's, which names the sender's account), so that the request that
/// remains is the same in every account. `None` when the request names neither.
pub fn take_place(event: &mut Value) -> Result<Option<Place>> {
    let is_request_event = event.get("source").and_then(Value::as_str) == Some("acu-pilot");
    let (prefix, request) = if is_request_event {
        ("detail.", event.get_mut("detail"))
    } else if event.get("action").is_some() {
        ("", Some(&mut *event))
    } else {
        return Ok(None);
    };
    let Some(Value::Object(fields)) = request else {
        return Ok(None);
    };
    let mut take = |name: &str, valid: fn(&str) -> bool, expected: &str| match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if valid(text.trim()) => Ok(Some(text.trim().to_owned())),
        Some(other) => Err(Error::invalid(
            format!("{prefix}{name}"),
            format!("{other} is not {expected}"),
        )),
    };
    let account = take("account", is_account, "a 12-digit account id")?;
    let region = take("region", is_region, "an AWS region (such as eu-west-1)")?;
    Ok((account.is_some() || region.is_some()).then_some(Place { account, region }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(account: &str, region: &str) -> TargetSpec {
        TargetSpec::Account(Origin {
            account: account.into(),
            region: region.into(),
        })
    }

    #[test]
    fn a_list_names_accounts_regions_and_organizational_units() {
        let text = "111111111111, 222222222222:eu-west-1 # the shop\n\
                    # the data team's OU, in two regions\n\
                    ou-ab12-cdef3456\n ou-ab12-cdef3456:us-gov-west-1,r-ab12\n\n";
        assert_eq!(
            parse_targets(text, "us-east-1").unwrap(),
            vec![
                at("111111111111", "us-east-1"),
                at("222222222222", "eu-west-1"),
                TargetSpec::Parent {
                    parent: "ou-ab12-cdef3456".into(),
                    region: "us-east-1".into()
                },
                TargetSpec::Parent {
                    parent: "ou-ab12-cdef3456".into(),
                    region: "us-gov-west-1".into()
                },
                TargetSpec::Parent {
                    parent: "r-ab12".into(),
                    region: "us-east-1".into()
                },
            ]
        );
        assert_eq!(parse_targets(" # nothing\n", "us-east-1").unwrap(), vec![]);
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index_and_text() {
        for (text, field, why) in [
            (
                "111111111111, 2222",
                "targets[1] (2222)",
                "12-digit account",
            ),
            (
                "111111111111:Europe",
                "targets[0] (111111111111:Europe)",
                "not an AWS region",
            ),
            ("ou-x-y", "targets[0] (ou-x-y)", "neither"),
            (
                "111111111111:eu-west",
                "targets[0] (111111111111:eu-west)",
                "region",
            ),
        ] {
            let err = parse_targets(text, "us-east-1").unwrap_err();
            let message = err.to_string();
            assert!(message.contains(field), "{text}: {message}");
            assert!(message.contains(why), "{text}: {message}");
        }
    }

    #[test]
    fn events_are_a_tick_a_named_target_or_the_queues_batch() {
        let tick = json!({"detail-type": "Scheduled Event", "id": "t1"});
        assert!(matches!(classify(tick.clone()).unwrap(), FleetEvent::Tick(t) if t == tick));

        let direct = json!({"target": {"account": "111111111111", "region": "eu-west-1"}, "clusters": ["a"]});
        let FleetEvent::Target(work) = classify(direct).unwrap() else {
            panic!("a target")
        };
        assert_eq!(work.target.to_string(), "111111111111/eu-west-1");
        assert_eq!(work.tick, json!({"clusters": ["a"]}));

        let body = serde_json::to_string(&work).unwrap();
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": body},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": "{\"target\": {\"account\": \"1\", \"region\": \"eu-west-1\"}}"},
        ]});
        let FleetEvent::Queued(records) = classify(batch).unwrap() else {
            panic!("a batch")
        };
        assert_eq!(records[0].0, "m1");
        assert_eq!(records[0].1.as_ref().unwrap(), &work);
        let bad = records[1].1.as_ref().unwrap_err().to_string();
        assert!(bad.contains("target.account"), "{bad}");

        let wrong = classify(json!({"target": "111111111111"})).unwrap_err();
        assert!(wrong.to_string().contains("target"), "{wrong}");
    }

    #[test]
    fn a_request_names_its_place_which_is_taken_out_of_it() {
        let mut event = json!({"source": "acu-pilot", "detail-type": "Provision Cluster",
            "account": "000000000000", "region": "us-east-1",
            "detail": {"cluster_id": "shop", "account": "111111111111", "region": "eu-west-1"}});
        let place = take_place(&mut event).unwrap();
        assert_eq!(
            place,
            Some(Place {
                account: Some("111111111111".into()),
                region: Some("eu-west-1".into())
            })
        );
        assert_eq!(event["detail"], json!({"cluster_id": "shop"}));
        assert_eq!(
            event["account"], "000000000000",
            "the envelope is left alone"
        );

        let mut direct =
            json!({"action": "decommission", "cluster_id": "shop", "region": "eu-west-1"});
        assert_eq!(
            take_place(&mut direct).unwrap(),
            Some(Place {
                account: None,
                region: Some("eu-west-1".into())
            })
        );
        assert_eq!(
            direct,
            json!({"action": "decommission", "cluster_id": "shop"})
        );

        // The envelope of an RDS event or a request naming no place: the hub's.
        let mut rds = json!({"source": "aws.rds", "account": "111111111111", "region": "eu-west-1", "detail": {}});
        assert_eq!(take_place(&mut rds).unwrap(), None);
        let mut plain = json!({"action": "provision", "cluster_id": "shop"});
        assert_eq!(take_place(&mut plain).unwrap(), None);

        let mut bad = json!({"action": "provision", "cluster_id": "shop", "account": 1111});
        let err = take_place(&mut bad).unwrap_err().to_string();
        assert!(err.contains("account") && err.contains("12-digit"), "{err}");
        let mut bad = json!({"source": "acu-pilot", "detail": {"region": "Paris"}});
        let err = take_place(&mut bad).unwrap_err().to_string();
        assert!(err.contains("detail.region"), "{err}");
    }

    #[test]
    fn a_targets_messages_share_a_group_and_a_ticks_repeat_its_id() {
        let work = TargetWork {
            target: Origin {
                account: "111111111111".into(),
                region: "eu-west-1".into(),
            },
            tick: Value::Null,
        };
        assert_eq!(work.group(), "111111111111-eu-west-1");
        assert_eq!(
            work.deduplication_id("2026-11-27T15:00:00Z"),
            "111111111111-eu-west-1-2026-11-27T15:00:00Z"
        );
        assert_eq!(work.deduplication_id(&"x".repeat(300)).len(), 128);
        assert_eq!(
            work.deduplication_id("a b\u{e9}"),
            "111111111111-eu-west-1-ab"
        );
    }
}
