//! Which account and region an alarm event comes from: the hub handles alarms of spoke
//! accounts, and must act in the account the alarm is in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An AWS account and region: where an event comes from, or one target of a fleet sweep.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Origin {
    pub account: String,
    pub region: String,
}

/// `account/region`, as logs and reports name a target.
impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// The event's origin: an EventBridge event's own `account` and `region` (a forwarded
/// event keeps the spoke's), else the `:region:account:` fields of the alarm's ARN, which
/// the Lambda action and SNS shapes carry. `None` when the event names neither.
pub fn origin(event: &Value) -> Option<Origin> {
    let field = |name: &str| {
        event
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let (Some(account), Some(region)) = (field("account"), field("region")) {
        return Some(Origin {
            account: account.to_owned(),
            region: region.to_owned(),
        });
    }
    let arn = super::parse_event(event).ok()?.alarm_arn?;
    from_arn(&arn)
}

/// `arn:<partition>:<service>:<region>:<account>:…` → its region and account.
pub fn from_arn(arn: &str) -> Option<Origin> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!region.is_empty() && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(
        || Origin {
            account: account.to_owned(),
            region: region.to_owned(),
        },
    )
}

/// The partition a region belongs to, for the ARNs of the roles assumed there.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_eventbridge_event_names_its_own_account_and_region() {
        let event = json!({"account": "222233334444", "region": "eu-west-1", "detail-type": "x"});
        assert_eq!(
            origin(&event),
            Some(Origin {
                account: "222233334444".into(),
                region: "eu-west-1".into()
            })
        );
    }

    #[test]
    fn an_alarm_arn_gives_its_region_and_account() {
        let o = from_arn("arn:aws:cloudwatch:us-east-2:111122223333:alarm:acu-pilot-shop-high");
        assert_eq!(
            o,
            Some(Origin {
                account: "111122223333".into(),
                region: "us-east-2".into()
            })
        );
        assert_eq!(from_arn("arn:aws:cloudwatch:us-east-2::alarm:x"), None);
        assert_eq!(from_arn("not an arn"), None);
        assert_eq!(origin(&json!({"nothing": 1})), None);
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
