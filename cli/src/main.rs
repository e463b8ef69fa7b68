// The CLI wires `plot::write` into `simulate --plot`.
#[allow(dead_code)]
mod plot;

fn main() {}
