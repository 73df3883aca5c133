//! The agency column-mapping file.
//!
//! An agency's extract rarely uses the contract's names and codes. Rather than
//! asking each agency to rewrite its extract, a small TOML file says how its
//! columns and codes map onto the canonical ones; everything after ingest sees
//! only the contract. The mapping is checked against the contract when it is
//! loaded and against the file's header when it is applied, so a typo fails
//! loudly instead of silently quarantining a whole column.
//!
//! ```toml
//! date-format = "%m/%d/%Y"          # optional; dates are then read by this format alone
//!
//! [columns]                         # agency column = canonical column
//! "Case Number" = "case_id"
//!
//! [codes.case_type]                 # agency code = canonical code (case-insensitive)
//! INV = "investigation"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safeflag_core::contract::{self, ColumnType, TableSpec};
use serde::Deserialize;

use crate::{Error, Result};

/// An agency mapping, checked against the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    /// Agency column name -> canonical column name.
    pub columns: BTreeMap<String, String>,
    /// Canonical column -> (agency code, lowercased -> canonical code).
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    /// The date format of the extract (chrono syntax), if not ISO.
    pub date_format: Option<String>,
    /// Where the mapping came from, for error messages.
    pub source: Option<PathBuf>,
}

/// A mapping as written in TOML, before it is checked against a table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MappingFile {
    /// Agency column = canonical column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Canonical column -> agency code = canonical code.
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    /// The extract's date format (chrono syntax), if not ISO.
    pub date_format: Option<String>,
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn from_path(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_path_buf(),
            },
            _ => Error::Io {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let mut mapping = Mapping::from_toml(&text).map_err(|e| match e {
            Error::Mapping { message, .. } => Error::Mapping {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        mapping.source = Some(path.to_path_buf());
        Ok(mapping)
    }

    /// Parses and checks mapping TOML text against the snapshot contract.
    pub fn from_toml(text: &str) -> Result<Mapping> {
        let file: MappingFile = toml::from_str(text).map_err(|e| Error::Mapping {
            path: PathBuf::from("<mapping>"),
            message: e.message().to_string(),
        })?;
        file.check(&contract::SNAPSHOT)
    }
}

impl MappingFile {
    /// Checks the mapping against a table: every target column and code must
    /// be the table's. Messages name the table unless it is the snapshot.
    pub fn check(self, table: &TableSpec) -> Result<Mapping> {
        let file = self;
        let at = if table.name == contract::SNAPSHOT.name {
            String::new()
        } else {
            format!("tables.{}.", table.name)
        };
        let bad = |message: String| Error::Mapping {
            path: PathBuf::from("<mapping>"),
            message,
        };

        let mut seen_targets = BTreeMap::new();
        for (agency, canonical) in &file.columns {
            if table.column(canonical).is_none() {
                return Err(bad(format!(
                    "{at}column `{agency}` is mapped to `{canonical}`, which is not a {} column",
                    if at.is_empty() {
                        "contract"
                    } else {
                        table.name
                    }
                )));
            }
            if let Some(other) = seen_targets.insert(canonical.clone(), agency.clone()) {
                return Err(bad(format!(
                    "{at}columns `{other}` and `{agency}` are both mapped to `{canonical}`"
                )));
            }
        }

        let mut codes = BTreeMap::new();
        for (column, map) in file.codes {
            let Some(spec) = table.column(&column) else {
                return Err(bad(format!(
                    "`{at}codes.{column}` names a column that is not in {}",
                    if at.is_empty() {
                        "the contract".to_string()
                    } else {
                        format!("`{}`", table.name)
                    }
                )));
            };
            let allowed: Vec<&str> = match spec.ty {
                ColumnType::Enum { codes } => codes.to_vec(),
                ColumnType::Bool => vec!["true", "false"],
                _ => {
                    return Err(bad(format!(
                        "`{at}codes.{column}`: `{column}` is not a coded column (only enum and boolean columns take codes)"
                    )));
                }
            };
            let mut lowered = BTreeMap::new();
            for (agency_code, canonical) in map {
                let Some(code) = allowed
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(canonical.trim()))
                else {
                    return Err(bad(format!(
                        "`{at}codes.{column}` maps `{agency_code}` to `{canonical}`, which is not a code of `{column}` (expected one of {})",
                        allowed
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                lowered.insert(agency_code.trim().to_lowercase(), (*code).to_string());
            }
            codes.insert(column, lowered);
        }

        if let Some(fmt) = &file.date_format
            && !(fmt.contains("%Y") || fmt.contains("%y") || fmt.contains("%F"))
        {
            return Err(bad(format!(
                "`date-format` `{fmt}` has no year field; use chrono syntax such as `%m/%d/%Y`"
            )));
        }

        Ok(Mapping {
            columns: file.columns,
            codes,
            date_format: file.date_format,
            source: None,
        })
    }
}

impl Mapping {
    /// The agency codes declared for a canonical column (lowercased agency code -> canonical code).
    pub fn codes_for(&self, column: &str) -> Option<&BTreeMap<String, String>> {
        self.codes.get(column)
    }

    /// Checks the mapping against a file's header: every mapped agency column
    /// must exist and must not collide with a canonical column already present.
    pub(crate) fn check_header(&self, input: &Path, header: &[String]) -> Result<()> {
        let source = self
            .source
            .clone()
            .unwrap_or_else(|| PathBuf::from("<mapping>"));
        for (agency, canonical) in &self.columns {
            if !header.iter().any(|h| h == agency) {
                return Err(Error::Mapping {
                    path: source,
                    message: format!(
                        "maps column `{agency}`, which is not in `{}`",
                        input.display()
                    ),
                });
            }
            if agency != canonical && header.iter().any(|h| h == canonical) {
                return Err(Error::Mapping {
                    path: source,
                    message: format!(
                        "maps `{agency}` to `{canonical}`, but `{}` already has a `{canonical}` column",
                        input.display()
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_codes_and_date_format() {
        let m = Mapping::from_toml(
            r#"
            date-format = "%m/%d/%Y"
            [columns]
            "Case No" = "case_id"
            [codes.case_type]
            INV = "investigation"
            [codes.domestic_violence]
            D = "TRUE"
            "#,
        )
        .unwrap();
        assert_eq!(m.columns["Case No"], "case_id");
        assert_eq!(m.codes_for("case_type").unwrap()["inv"], "investigation");
        assert_eq!(m.codes_for("domestic_violence").unwrap()["d"], "true");
        assert_eq!(m.date_format.as_deref(), Some("%m/%d/%Y"));
    }

    #[test]
    fn rejects_unknown_target_column() {
        let err = Mapping::from_toml("[columns]\nCASE = \"case_number\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mapping `<mapping>`: column `CASE` is mapped to `case_number`, which is not a contract column"
        );
    }

    #[test]
    fn rejects_unknown_code() {
        let err = Mapping::from_toml("[codes.case_type]\nINV = \"investgation\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("`investgation`, which is not a code of `case_type`"),
            "{err}"
        );
    }

    #[test]
    fn rejects_codes_on_uncoded_column_and_unknown_keys() {
        assert!(Mapping::from_toml("[codes.office]\nN = \"north\"\n").is_err());
        assert!(Mapping::from_toml("[codes.no_such]\nN = \"x\"\n").is_err());
        let err = Mapping::from_toml("colums = {}\n").unwrap_err();
        assert!(err.to_string().contains("colums"), "{err}");
    }

    #[test]
    fn rejects_two_columns_onto_one() {
        let err = Mapping::from_toml("[columns]\nA = \"case_id\"\nB = \"case_id\"\n").unwrap_err();
        assert!(
            err.to_string().contains("both mapped to `case_id`"),
            "{err}"
        );
    }
}
