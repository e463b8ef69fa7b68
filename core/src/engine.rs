//! What each Aurora engine version supports, for when DescribeDBEngineVersions cannot be
//! asked. Source: Aurora User Guide, "Aurora Serverless v2 — supported Regions and engine
//! versions" and "Scaling to zero ACUs with automatic pause and resume":
//! Serverless v2 needs Aurora MySQL 3.02.0+ or Aurora PostgreSQL 13.6/14.3/15.2/16.1+;
//! min 0 (auto-pause) needs Aurora MySQL 3.08.0+ or PostgreSQL 13.15/14.12/15.7/16.3+.

/// The engines acu-pilot manages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    AuroraMysql,
    AuroraPostgresql,
}

impl Engine {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "aurora-mysql" => Some(Engine::AuroraMysql),
            "aurora-postgresql" => Some(Engine::AuroraPostgresql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::AuroraMysql => "aurora-mysql",
            Engine::AuroraPostgresql => "aurora-postgresql",
        }
    }
}

/// The engine DescribeDBClusters reports for a cluster: one acu-pilot manages, or any
/// other (`neptune`, `docdb`, an engine newer than this table) kept by its name, so it can
/// be reported and refused rather than lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEngine {
    Aurora(Engine),
    Other(String),
}

impl ClusterEngine {
    pub fn from_name(name: &str) -> Self {
        Engine::parse(name).map_or_else(
            || ClusterEngine::Other(name.to_owned()),
            ClusterEngine::Aurora,
        )
    }

    pub fn name(&self) -> &str {
        match self {
            ClusterEngine::Aurora(engine) => engine.name(),
            ClusterEngine::Other(name) => name,
        }
    }

    /// The engine, where acu-pilot knows it.
    pub fn aurora(&self) -> Option<Engine> {
        match self {
            ClusterEngine::Aurora(engine) => Some(*engine),
            ClusterEngine::Other(_) => None,
        }
    }
}

impl Default for ClusterEngine {
    /// What an adapter reports when DescribeDBClusters names no engine.
    fn default() -> Self {
        ClusterEngine::Other(String::new())
    }
}

impl From<&str> for ClusterEngine {
    fn from(name: &str) -> Self {
        ClusterEngine::from_name(name)
    }
}

impl std::fmt::Display for ClusterEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for ClusterEngine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `8.0.mysql_aurora.3.09.0` → (3, 9, 0); `16.3` → (16, 3, 0).
fn version_numbers(engine: Engine, version: &str) -> Option<(u32, u32, u32)> {
    let numeric = match engine {
        Engine::AuroraMysql => version.rsplit_once("mysql_aurora.")?.1,
        Engine::AuroraPostgresql => version,
    };
    let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

fn at_least(
    engine: Engine,
    version: &str,
    mysql: (u32, u32, u32),
    postgres: &[(u32, u32)],
) -> bool {
    let Some(v) = version_numbers(engine, version) else {
        return false;
    };
    match engine {
        Engine::AuroraMysql => v >= mysql,
        Engine::AuroraPostgresql => {
            postgres
                .iter()
                .any(|&(major, minor)| v.0 == major && v.1 >= minor)
                || postgres.iter().all(|&(major, _)| v.0 > major)
        }
    }
}

/// Whether this engine version can run Serverless v2 instances.
pub fn supports_serverless_v2(engine: Engine, version: &str) -> bool {
    at_least(
        engine,
        version,
        (3, 2, 0),
        &[(13, 6), (14, 3), (15, 2), (16, 1)],
    )
}

/// Whether this engine version accepts min capacity 0 (auto-pause).
pub fn supports_auto_pause(engine: Engine, version: &str) -> bool {
    at_least(
        engine,
        version,
        (3, 8, 0),
        &[(13, 15), (14, 12), (15, 7), (16, 3)],
    )
}

/// The cluster parameter group family for an engine version.
pub fn parameter_group_family(engine: Engine, version: &str) -> Option<String> {
    let (major, _, _) = version_numbers(engine, version)?;
    match engine {
        Engine::AuroraMysql if major == 3 => Some("aurora-mysql8.0".into()),
        Engine::AuroraMysql => None,
        Engine::AuroraPostgresql => Some(format!("aurora-postgresql{major}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_engine_keeps_an_unknown_name_and_is_not_aurora() {
        let neptune = ClusterEngine::from_name("neptune");
        assert_eq!(neptune, ClusterEngine::Other("neptune".into()));
        assert_eq!((neptune.name(), neptune.aurora()), ("neptune", None));
        let mysql = ClusterEngine::from_name("aurora-mysql");
        assert_eq!(mysql.aurora(), Some(Engine::AuroraMysql));
        assert_eq!(mysql.to_string(), "aurora-mysql");
        assert_eq!(
            serde_json::to_string(&[mysql, neptune]).unwrap(),
            r#"["aurora-mysql","neptune"]"#
        );
    }

    #[test]
    fn auto_pause_follows_the_documented_versions() {
        use Engine::*;
        assert!(supports_auto_pause(AuroraMysql, "8.0.mysql_aurora.3.09.0"));
        assert!(supports_auto_pause(AuroraMysql, "8.0.mysql_aurora.3.08.0"));
        assert!(!supports_auto_pause(AuroraMysql, "8.0.mysql_aurora.3.07.1"));
        assert!(supports_auto_pause(AuroraPostgresql, "16.3"));
        assert!(!supports_auto_pause(AuroraPostgresql, "16.2"));
        assert!(supports_auto_pause(AuroraPostgresql, "17.4"));
        assert!(!supports_auto_pause(AuroraPostgresql, "14.11"));
        assert!(!supports_serverless_v2(
            AuroraMysql,
            "5.7.mysql_aurora.2.11.2"
        ));
        assert!(supports_serverless_v2(AuroraPostgresql, "15.4"));
        assert!(!supports_serverless_v2(AuroraPostgresql, "12.9"));
        assert_eq!(
            parameter_group_family(AuroraPostgresql, "16.3").unwrap(),
            "aurora-postgresql16"
        );
        assert_eq!(
            parameter_group_family(AuroraMysql, "8.0.mysql_aurora.3.09.0").unwrap(),
            "aurora-mysql8.0"
        );
    }
}
