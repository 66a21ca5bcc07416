fn main() {
    let registry = peregrine_node::catalogue();
    for path in std::env::args().skip(1) {
        let source = std::fs::read_to_string(&path).expect("read");
        for report in peregrine_model::Validator::new(&registry).validate_source(&source) {
            for d in report.diagnostics {
                println!("{path}:{d}");
            }
        }
    }
}
