//! placeholder until plotting lands
pub struct Figure;
impl Figure { pub fn save(&self, _p: &std::path::Path) -> Result<(), String> { Ok(()) } }
pub fn overview(_s: &crate::data::Split<'_>, _o: &[usize], _t: &str) -> Figure { Figure }
