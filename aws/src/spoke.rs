//! Acting in the account an event comes from: the hub's own account and region with the
//! function's own credentials, a spoke account through `sts:AssumeRole` on its spoke role.

use std::borrow::Cow;

use aws_config::Region;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};

use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::Origin;
use acu_pilot_core::events::origin::partition;
use acu_pilot_core::fleet::Place;

use crate::Aws;
use crate::error::sdk_error;

impl Aws {
    /// The adapters to act in `origin`'s account and region, for this invocation.
    ///
    /// Without a configured spoke role (`ACU_PILOT_SPOKE_ROLE`), or for an event that names
    /// no origin, this is `self`: a single-account deployment makes no extra call. With
    /// one, the hub's own account (GetCallerIdentity, once per process) keeps the
    /// function's credentials; any other account is reached through one AssumeRole on
    /// `arn:<partition>:iam::<account>:role/<spoke role>`, whose failure is one error naming
    /// the account. Events stay on the hub's bus, the calendar and the ownership key in the
    /// hub: only the clusters, alarms, metrics and provisioning move.
    pub async fn for_origin(
        &self,
        origin: Option<&Origin>,
        config: &Config,
    ) -> Result<Cow<'_, Aws>> {
        let (Some(origin), Some(_)) = (origin, config.spoke_role.as_deref()) else {
            return Ok(Cow::Borrowed(self));
        };
        self.for_target(origin, config).await
    }

    /// The adapters to act in `target`: `self` for the hub's own account and region, the
    /// function's credentials in another region of the hub's account, and the spoke role
    /// for any other account. Without a configured spoke role, another account is an
    /// error naming the target, never a sweep of the hub in its place.
    pub async fn for_target(&self, target: &Origin, config: &Config) -> Result<Cow<'_, Aws>> {
        let origin = target;
        let home_region = self.sdk.region().map(|r| r.as_ref().to_owned());
        let home_account = self.home_account().await?;
        let same_region = home_region.as_deref() == Some(origin.region.as_str());
        if origin.account == home_account {
            if same_region {
                return Ok(Cow::Borrowed(self));
            }
            let sdk = self
                .sdk
                .to_builder()
                .region(Region::new(origin.region.clone()))
                .build();
            return Ok(Cow::Owned(self.in_target(sdk, config)));
        }
        let Some(role) = config.spoke_role.as_deref() else {
            return Err(Error::Config {
                variable: "ACU_PILOT_SPOKE_ROLE".into(),
                message: format!(
                    "target {target}: another account is reached only through a spoke role, and none is configured (SpokeRoleName)"
                ),
            });
        };
        let role_arn = format!(
            "arn:{}:iam::{}:role/{}",
            partition(&origin.region),
            origin.account,
            role.trim_start_matches('/')
        );
        let refused = |e: Error| {
            e.about(format_args!(
                "account {}: cannot assume the spoke role {role_arn} (is acu-pilot's spoke stack deployed there?)",
                origin.account
            ))
        };
        let out = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("acu-pilot")
            .set_external_id(config.spoke_external_id.clone())
            .send()
            .await
            .map_err(|e| refused(sdk_error("AssumeRole", e)))?;
        let creds = out.credentials().ok_or_else(|| {
            refused(Error::Aws {
                operation: "AssumeRole",
                code: None,
                message: "no credentials in the response".into(),
                retryable: true,
            })
        })?;
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            std::time::SystemTime::try_from(*creds.expiration()).ok(),
            "acu-pilot-spoke",
        );
        let sdk = self
            .sdk
            .to_builder()
            .region(Region::new(origin.region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok(Cow::Owned(self.in_target(sdk, config)))
    }

    /// The adapters to act where a provisioner request says ([`Place`]): what it leaves
    /// out is the hub's account or region, and a place naming neither is `self`.
    pub async fn for_place(&self, place: Option<&Place>, config: &Config) -> Result<Cow<'_, Aws>> {
        let Some(place) = place else {
            return Ok(Cow::Borrowed(self));
        };
        let account = match &place.account {
            Some(account) => account.clone(),
            None => self.home_account().await?,
        };
        let region = match &place.region {
            Some(region) => region.clone(),
            None => self.home_region()?,
        };
        self.for_target(&Origin { account, region }, config).await
    }

    /// These adapters with spoke roles assumed through `sts` (and the hub's account asked
    /// of it): how a test puts the refusals only real STS makes on the wire.
    pub fn with_sts(mut self, sts: aws_sdk_sts::Client) -> Self {
        self.sts = sts;
        self
    }

    /// The account of the function's own credentials, asked once per process.
    pub async fn home_account(&self) -> Result<String> {
        let account = self
            .home_account
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetCallerIdentity", e))?;
                out.account().map(str::to_owned).ok_or_else(|| Error::Aws {
                    operation: "GetCallerIdentity",
                    code: None,
                    message: "no account in the response".into(),
                    retryable: true,
                })
            })
            .await?;
        Ok(account.clone())
    }

    /// `self`'s hub-side adapters (notifier, calendar, ownership key) with the
    /// account-side ones built on `sdk`.
    fn in_target(&self, sdk: aws_config::SdkConfig, config: &Config) -> Aws {
        let target = Aws::build(sdk, config, self.recorder.as_ref());
        Aws {
            notifier: self.notifier.clone(),
            calendar: self.calendar.clone(),
            ssm: self.ssm.clone(),
            ownership: self.ownership.clone(),
            sdk: self.sdk.clone(),
            sts: self.sts.clone(),
            home_account: self.home_account.clone(),
            sqs: self.sqs.clone(),
            organizations: self.organizations.clone(),
            ..target
        }
    }
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot show: it grants AssumeRole on roles that do not exist, so a
    //! spoke without the role is refused here, by the real STS client on a mocked wire.
    use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// The awsQuery error body STS sends when the role is missing or does not trust the
    /// caller: both are the same AccessDenied.
    const ACCESS_DENIED: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::000000000000:assumed-role/acu-pilot-AlarmHandlerRole-X/acu-pilot is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/acu-pilot-spoke-alarm-handler</Message></Error><RequestId>1a2b</RequestId></ErrorResponse>"#;

    fn hub(sts: aws_sdk_sts::Client) -> Aws {
        let sdk = aws_config::SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let mut aws = Aws::from_sdk_config(sdk, &Config::default());
        aws.sts = sts;
        aws.home_account
            .set("000000000000".into())
            .expect("a fresh Aws has not asked");
        aws
    }

    fn config() -> Config {
        Config {
            spoke_role: Some("acu-pilot-spoke-alarm-handler".into()),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn a_spoke_without_the_role_is_one_error_naming_the_account() {
        let refused = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(ACCESS_DENIED),
            )
        });
        let aws = hub(mock_client!(aws_sdk_sts, RuleMode::Sequential, &[&refused]));
        let origin = Origin {
            account: "333333333333".into(),
            region: "us-east-1".into(),
        };
        let err = aws
            .for_origin(Some(&origin), &config())
            .await
            .expect_err("a refused AssumeRole is an error");
        let text = err.to_string();
        assert!(text.contains("account 333333333333"), "{text}");
        assert!(
            text.contains("arn:aws:iam::333333333333:role/acu-pilot-spoke-alarm-handler"),
            "{text}"
        );
        assert!(text.contains("spoke stack deployed"), "{text}");
        assert_eq!(err.aws_code(), Some("AccessDenied"));
        assert!(
            !err.is_retryable(),
            "a missing role is not retried: {err:?}"
        );
        assert_eq!(refused.num_calls(), 1, "one AssumeRole, not retried");
    }

    #[tokio::test]
    async fn a_spoke_is_reached_with_the_external_id_and_the_hub_without_sts() {
        let assumed = mock!(aws_sdk_sts::Client::assume_role)
            .match_requests(|req| {
                req.role_arn()
                    == Some("arn:aws:iam::111111111111:role/acu-pilot-spoke-alarm-handler")
                    && req.external_id() == Some("s3cret")
            })
            .then_output(|| {
                AssumeRoleOutput::builder()
                    .credentials(
                        aws_sdk_sts::types::Credentials::builder()
                            .access_key_id("ASIA")
                            .secret_access_key("secret")
                            .session_token("token")
                            .expiration(aws_smithy_types::DateTime::from_secs(4_000_000_000))
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let aws = hub(mock_client!(aws_sdk_sts, RuleMode::Sequential, &[&assumed]));
        let config = Config {
            spoke_external_id: Some("s3cret".into()),
            ..config()
        };
        let spoke = Origin {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
        };
        let target = aws
            .for_origin(Some(&spoke), &config)
            .await
            .expect("assumed");
        assert!(matches!(target, Cow::Owned(_)));
        assert_eq!(assumed.num_calls(), 1);
        let home = Origin {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        };
        let same = aws.for_origin(Some(&home), &config).await.expect("home");
        assert!(
            matches!(same, Cow::Borrowed(_)),
            "the hub keeps its own adapters"
        );
        assert_eq!(
            assumed.num_calls(),
            1,
            "no AssumeRole for the hub's own account"
        );
    }
}
