//! The fleet's targets and its fan-out, in the hub: the targets list from its SSM
//! parameter (OUs through Organizations' ListAccountsForParent), one SQS message per target
//! on the tick's FIFO queue, and each target's adapters through [`Aws::for_target`].

use std::borrow::Cow;
use std::collections::BTreeSet;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::Origin;
use acu_pilot_core::fleet::{TargetSpec, TargetWork, parse_targets};
use acu_pilot_ports::Fleet;

use crate::Aws;
use crate::error::sdk_error;

/// SQS's limit of entries per SendMessageBatch.
const BATCH: usize = 10;

impl Aws {
    fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| {
            let mut config = aws_sdk_sqs::config::Builder::from(&self.sdk);
            if let Some(recorder) = &self.recorder {
                config = config.interceptor(recorder.clone());
            }
            aws_sdk_sqs::Client::from_conf(config.build())
        })
    }

    fn organizations(&self) -> &aws_sdk_organizations::Client {
        self.organizations.get_or_init(|| {
            let mut config = aws_sdk_organizations::config::Builder::from(&self.sdk);
            if let Some(recorder) = &self.recorder {
                config = config.interceptor(recorder.clone());
            }
            aws_sdk_organizations::Client::from_conf(config.build())
        })
    }

    /// The region of the function's own configuration.
    pub fn home_region(&self) -> Result<String> {
        self.sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| Error::Config {
                variable: "AWS_REGION".into(),
                message: "no region: the hub's own target has none".into(),
            })
    }

    /// The active accounts directly under an OU or root, all pages.
    async fn accounts_under(&self, parent: &str) -> Result<Vec<String>> {
        let mut accounts = Vec::new();
        let mut pages = self
            .organizations()
            .list_accounts_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                sdk_error("ListAccountsForParent", e).about(format_args!("targets: {parent}"))
            })?;
            accounts.extend(
                page.accounts()
                    .iter()
                    .filter(|a| {
                        a.state() == Some(&aws_sdk_organizations::types::AccountState::Active)
                    })
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        Ok(accounts)
    }
}

impl Fleet for Aws {
    type Ports = Aws;

    fn own(&self) -> &Aws {
        self
    }

    async fn home(&self) -> Result<Origin> {
        Ok(Origin {
            account: self.home_account().await?,
            region: self.home_region()?,
        })
    }

    async fn targets(&self) -> Result<Vec<Origin>> {
        let Some(name) = self.config.targets_parameter.as_deref() else {
            return Ok(vec![self.home().await?]);
        };
        let text = self
            .ssm
            .get_parameter()
            .name(name)
            .send()
            .await
            .map_err(|e| sdk_error("GetParameter", e))?
            .parameter
            .and_then(|p| p.value)
            .unwrap_or_default();
        let mut targets = BTreeSet::new();
        for spec in parse_targets(&text, &self.home_region()?)? {
            match spec {
                TargetSpec::Account(target) => {
                    targets.insert(target);
                }
                TargetSpec::Parent { parent, region } => {
                    for account in self.accounts_under(&parent).await? {
                        targets.insert(Origin {
                            account,
                            region: region.clone(),
                        });
                    }
                }
            }
        }
        Ok(targets.into_iter().collect())
    }

    async fn ports_in(&self, target: &Origin) -> Result<Cow<'_, Aws>> {
        self.for_target(target, &self.config).await
    }

    async fn fan_out(&self, work: &[TargetWork], tick_id: &str) -> Option<Vec<Result<()>>> {
        let queue = self.config.target_queue_url.as_deref()?;
        let mut outcomes = Vec::with_capacity(work.len());
        for chunk in work.chunks(BATCH) {
            let entries: Vec<SendMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(w).unwrap_or_default())
                        .message_group_id(w.group())
                        .message_deduplication_id(w.deduplication_id(tick_id))
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let sent = self
                .sqs()
                .send_message_batch()
                .queue_url(queue)
                .set_entries(Some(entries))
                .send()
                .await;
            match sent {
                Ok(out) => outcomes.extend((0..chunk.len()).map(|i| {
                    match out.failed().iter().find(|f| f.id() == i.to_string()) {
                        None => Ok(()),
                        Some(failed) => Err(Error::Aws {
                            operation: "SendMessageBatch",
                            code: Some(failed.code().to_owned()),
                            message: failed.message().unwrap_or("not sent").to_owned(),
                            retryable: !failed.sender_fault(),
                        }),
                    }
                })),
                Err(e) => {
                    let err = sdk_error("SendMessageBatch", e);
                    outcomes.extend(chunk.iter().map(|_| {
                        Err(Error::Aws {
                            operation: "SendMessageBatch",
                            code: err.aws_code().map(str::to_owned),
                            message: err.to_string(),
                            retryable: err.is_retryable(),
                        })
                    }));
                }
            }
        }
        Some(outcomes)
    }
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot show: it has no Organizations. The OU listing runs here on
    //! the real client over a mocked wire, both pages of it.
    use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
    use aws_sdk_organizations::types::{Account, AccountState};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use acu_pilot_core::config::Config;

    fn account(id: &str, state: AccountState) -> Account {
        Account::builder().id(id).state(state).build()
    }

    #[tokio::test]
    async fn an_ou_is_every_active_account_under_it_over_every_page() {
        let first = mock!(aws_sdk_organizations::Client::list_accounts_for_parent)
            .match_requests(|r| {
                r.parent_id() == Some("ou-ab12-cdef3456") && r.next_token().is_none()
            })
            .then_output(|| {
                ListAccountsForParentOutput::builder()
                    .accounts(account("111111111111", AccountState::Active))
                    .accounts(account("444444444444", AccountState::Suspended))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_organizations::Client::list_accounts_for_parent)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                ListAccountsForParentOutput::builder()
                    .accounts(account("222222222222", AccountState::Active))
                    .build()
            });
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let mut aws = Aws::from_sdk_config(sdk, &Config::default());
        aws.organizations = std::sync::Arc::new(std::sync::OnceLock::from(mock_client!(
            aws_sdk_organizations,
            RuleMode::Sequential,
            &[&first, &second]
        )));

        let accounts = aws.accounts_under("ou-ab12-cdef3456").await.unwrap();

        assert_eq!(accounts, ["111111111111", "222222222222"]);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }
}
