//! `safeflag model sql`: the model as one SQL query for a warehouse.

use safeflag_pipeline::{Model, Result};

use crate::cli::ModelSqlArgs;
use crate::printer::Printer;

pub fn sql(args: ModelSqlArgs, printer: &Printer) -> Result<()> {
    let sql = if args.ddl {
        safeflag_sql::create_table(args.dialect, &args.table)
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
