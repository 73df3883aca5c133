//! `safeflag model sql` and `model onnx`: the model for other engines.

use safeflag_pipeline::{Model, Result};

use crate::cli::{ModelOnnxArgs, ModelSqlArgs};
use crate::printer::Printer;

pub fn sql(args: ModelSqlArgs, printer: &Printer) -> Result<()> {
    let sql = if args.ddl {
        safeflag_sql::create_table(args.dialect, &args.table)
    } else if let Some(raw) = &args.clean_view {
        safeflag_sql::clean_view(args.dialect, &args.table, raw)
    } else {
        let model = Model::load(&args.model)?;
        safeflag_sql::query(&model.artifact, args.dialect, &args.table)
    }?;
    match &args.out {
        Some(path) => {
            safeflag_core::output::write_bytes_atomic(path, sql.as_bytes())?;
            printer.status(&format!(
                "wrote the {} SQL to {}",
                args.dialect.as_str(),
                path.display()
            ));
        }
        None => printer.data(&sql),
    }
    Ok(())
}

pub fn onnx(args: ModelOnnxArgs, printer: &Printer) -> Result<()> {
    let model = Model::load(&args.model)?;
    let bytes = safeflag_onnx::to_onnx(&model.artifact)?;
    let spec = serde_json::to_vec_pretty(&model.artifact.content.feature_spec)
        .map_err(safeflag_pipeline::Error::internal)?;
    let mut beside = args.out.clone().into_os_string();
    beside.push(".features.json");
    let beside = std::path::PathBuf::from(beside);
    safeflag_core::output::write_bytes_atomic(&args.out, &bytes)?;
    safeflag_core::output::write_bytes_atomic(&beside, &spec)?;
    printer.status(&format!(
        "wrote {} ({} bytes; input `features`, double [N, {}]) and its feature spec {}",
        args.out.display(),
        bytes.len(),
        model.artifact.content.feature_spec.features.len(),
        beside.display()
    ));
    Ok(())
}
