//! Acting in the account an event comes from: the hub's own account and region with the
//! function's own credentials, a spoke account through `sts:AssumeRole` on its spoke role.

use std::borrow::Cow;

use aws_config::Region;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};

use acu_pilot_core::config::Config;
use acu_pilot_core::error::{Error, Result};
use acu_pilot_core::events::Origin;
use acu_pilot_core::events::origin::partition;

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
        let (Some(origin), Some(role)) = (origin, config.spoke_role.as_deref()) else {
            return Ok(Cow::Borrowed(self));
        };
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
        let role_arn = format!(
            "arn:{}:iam::{}:role/{}",
            partition(&origin.region),
            origin.account,
            role.trim_start_matches('/')
        );
        let refused = |e: Error| match e {
            Error::Aws {
                operation,
                code,
                message,
                retryable,
            } => Error::Aws {
                operation,
                code,
                message: format!(
                    "account {}: cannot assume the spoke role {role_arn} (is acu-pilot's spoke stack deployed there?): {message}",
                    origin.account
                ),
                retryable,
            },
            other => other,
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

    /// The account of the function's own credentials, asked once per process.
    pub async fn home_account(&self) -> Result<String> {
        if let Some(account) = self.home_account.get() {
            return Ok(account.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("GetCallerIdentity", e))?;
        let account = out.account().map(str::to_owned).ok_or_else(|| Error::Aws {
            operation: "GetCallerIdentity",
            code: None,
            message: "no account in the response".into(),
            retryable: true,
        })?;
        Ok(self.home_account.get_or_init(|| account).clone())
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
            ..target
        }
    }
}
