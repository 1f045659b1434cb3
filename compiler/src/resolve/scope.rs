//! Scopes of one network instance: its members, constant bindings and config defaults; and the
//! resolution of paths such as `sub.ens`, `ea[2].neurons` or `a.neurons.voltage`.

use super::Elab;
use crate::model::{ObjectId, ObjectKind, Port};
use crate::value::{Unit, Value};
use indexmap::IndexMap;
use snn_syntax::ast::{self, PathSeg};
use snn_syntax::{codes, Diagnostic, FileId, Span};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Something a name in a network refers to.
#[derive(Clone, Debug)]
pub(crate) enum Member {
    /// An object.
    Object(ObjectId, Span),
    /// A network instance and its members.
    Instance(Rc<IndexMap<String, Member>>, Span),
    /// Elements declared in a `for` loop.
    Array(BTreeMap<i64, Member>, Span),
}

impl Member {
    pub(crate) fn span(&self) -> Span {
        match self {
            Member::Object(_, s) | Member::Instance(_, s) | Member::Array(_, s) => *s,
        }
    }
}

/// Config defaults of a scope, chained to the enclosing one.
#[derive(Default, Debug)]
pub(crate) struct ConfigLayer {
    pub(crate) parent: Option<Rc<ConfigLayer>>,
    pub(crate) entries: IndexMap<(String, String), (Value, Span)>,
}

impl ConfigLayer {
    /// The innermost default for `kind.param`.
    pub(crate) fn get(&self, kind: &str, param: &str) -> Option<(Value, Span)> {
        if let Some(v) = self.entries.get(&(kind.to_string(), param.to_string())) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(kind, param))
    }

    /// The `trainable` setting for objects of `kind`, as NengoDL resolves it: the innermost
    /// network's setting wins, and within one network `kind.trainable` over `trainable`.
    pub(crate) fn trainable(&self, kind: &str) -> Option<(Value, Span)> {
        let key = |k: &str| (k.to_string(), "trainable".to_string());
        if let Some(v) = self.entries.get(&key(kind)).or_else(|| self.entries.get(&key(""))) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.trainable(kind))
    }
}

/// One network instance being elaborated.
pub(crate) struct NetCtx {
    pub(crate) file: FileId,
    /// Prefix of member names (`""` at the root, `sub.` inside instance `sub`).
    pub(crate) prefix: String,
    pub(crate) members: IndexMap<String, Member>,
    values: Vec<IndexMap<String, (Value, Span)>>,
    pub(crate) config: Rc<ConfigLayer>,
    pub(crate) seed: u64,
    /// Names whose declarations failed with an error: their uses report nothing more.
    pub(crate) failed: std::collections::BTreeSet<String>,
}

impl NetCtx {
    pub(crate) fn new(file: FileId, prefix: String, config: Rc<ConfigLayer>, seed: u64) -> NetCtx {
        NetCtx {
            file,
            prefix,
            members: IndexMap::new(),
            values: vec![IndexMap::new()],
            config,
            seed,
            failed: Default::default(),
        }
    }

    pub(crate) fn push_values(&mut self) {
        self.values.push(IndexMap::new());
    }

    pub(crate) fn pop_values(&mut self) {
        self.values.pop();
    }

    pub(crate) fn bind(&mut self, name: &str, v: Value, span: Span) {
        if let Some(top) = self.values.last_mut() {
            top.insert(name.to_string(), (v, span));
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<(Value, Span)> {
        self.values.iter().rev().find_map(|m| m.get(name).cloned())
    }

    /// A binding in the innermost scope only.
    pub(crate) fn lookup_local(&self, name: &str) -> Option<(Value, Span)> {
        self.values.last().and_then(|m| m.get(name).cloned())
    }

    /// The full name of a member declared here.
    pub(crate) fn full_name(&self, name: &str, index: Option<i64>) -> String {
        match index {
            Some(i) => format!("{}{name}[{i}]", self.prefix),
            None => format!("{}{name}", self.prefix),
        }
    }
}

/// Parameters a `config` block may set, per object kind (neuron types accept their parameters).
pub(crate) const CONFIG_KEYS: &[(&str, &[&str])] = &[
    (
        "ensemble",
        &[
            "max_rates",
            "intercepts",
            "encoders",
            "radius",
            "eval_points",
            "n_eval_points",
            "normalize_encoders",
            "neuron",
            "trainable",
        ],
    ),
    ("connect", &["synapse", "solver", "trainable"]),
    ("probe", &["synapse", "solver"]),
    ("layer", &["gain", "bias", "trainable"]),
    ("neurons", &["trainable"]),
];

/// Parameters a `config` entry without a kind sets for every kind (`trainable = false`).
pub(crate) const CONFIG_ANY_KIND: &[&str] = &["trainable"];

pub(crate) fn validate_config_key(entry: &ast::ConfigEntry) -> Option<Diagnostic> {
    let Some(kind_ident) = &entry.kind else {
        return (!CONFIG_ANY_KIND.contains(&entry.param.name.as_str())).then(|| {
            unknown_key(&entry.param, CONFIG_ANY_KIND, "a `config` entry without a kind")
        });
    };
    let kind = kind_ident.name.as_str();
    if let Some(k) = crate::spec::NeuronKind::from_name(kind) {
        let params: Vec<&str> = k.info().params.iter().map(|p| p.name).collect();
        if params.contains(&entry.param.name.as_str()) {
            return None;
        }
        return Some(unknown_key(&entry.param, &params, &format!("neuron type `{kind}`")));
    }
    match CONFIG_KEYS.iter().find(|(k, _)| *k == kind) {
        Some((_, params)) => {
            if params.contains(&entry.param.name.as_str()) {
                None
            } else {
                Some(unknown_key(&entry.param, params, &format!("`{kind}`")))
            }
        }
        None => {
            let mut kinds: Vec<&str> = CONFIG_KEYS.iter().map(|(k, _)| *k).collect();
            kinds.extend(crate::spec::NeuronKind::language_names());
            let mut d = Diagnostic::error(
                codes::UNKNOWN_ARGUMENT,
                format!("`config` has no defaults for `{kind}`"),
                kind_ident.span,
                "unknown kind",
            );
            if let Some(g) = snn_syntax::diag::did_you_mean(kind, kinds.iter().copied()) {
                d = d.with_help(format!("did you mean `{g}`?"));
            }
            Some(d)
        }
    }
}

fn unknown_key(param: &ast::Ident, params: &[&str], what: &str) -> Diagnostic {
    let mut d = Diagnostic::error(
        codes::UNKNOWN_ARGUMENT,
        format!("{what} has no parameter `{}`", param.name),
        param.span,
        "unknown parameter",
    );
    d = d.with_help(match snn_syntax::diag::did_you_mean(&param.name, params.iter().copied()) {
        Some(g) => format!("did you mean `{g}`?"),
        None => format!("its parameters are: {}", params.join(", ")),
    });
    d
}

/// Check a network argument against its parameter's declared type.
pub(crate) fn check_param_type(
    v: &Value,
    ty: &ast::Ident,
    span: Span,
    pname: &str,
) -> Option<Diagnostic> {
    let ok = match ty.name.as_str() {
        "int" => matches!(v, Value::Num(x, Unit::One) if x.fract() == 0.0),
        "float" => matches!(v, Value::Num(_, Unit::One)),
        // a bare number is in SI units (seconds, hertz), as for every time or frequency
        "time" => matches!(v, Value::Num(_, Unit::Time | Unit::One)),
        "freq" => matches!(v, Value::Num(_, Unit::Freq | Unit::One)),
        "bool" => matches!(v, Value::Bool(_)),
        "neuron" => {
            matches!(v, Value::Ctor(c) if crate::spec::NeuronKind::from_name(&c.name).is_some())
        }
        "synapse" => {
            matches!(v, Value::None | Value::Num(_, Unit::Time | Unit::One))
                || matches!(v, Value::Ctor(c) if ["lowpass", "alpha", "linear_filter"].contains(&c.name.as_str()))
        }
        "tensor" => matches!(v, Value::Array(_) | Value::Num(..)),
        "string" => matches!(v, Value::Str(_)),
        other => {
            return Some(
                Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    format!("unknown parameter type `{other}`"),
                    ty.span,
                    "unknown type",
                )
                .with_help(
                    "types are int, float, time, freq, bool, neuron, synapse, tensor and string",
                ),
            )
        }
    };
    if ok {
        return None;
    }
    Some(
        Diagnostic::error(
            codes::TYPE_MISMATCH,
            format!("parameter `{pname}` has type `{}`, found {}", ty.name, v.describe()),
            span,
            "wrong type",
        )
        .with_label(ty.span, "declared here"),
    )
}

/// A resolved path: an object with port, optional element selection and state attribute.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) obj: ObjectId,
    pub(crate) port: Port,
    pub(crate) indices: Option<Vec<usize>>,
    pub(crate) attr: Option<crate::spec::StateVar>,
    pub(crate) span: Span,
}

impl Elab<'_> {
    /// Resolve the member-part of a path (no `.neurons`, no slices).
    pub(crate) fn resolve_member(&mut self, ctx: &mut NetCtx, path: &ast::Path) -> Option<Member> {
        let (m, rest) = self.walk_members(ctx, path)?;
        if let Some(seg) = rest.first() {
            let span = match seg {
                PathSeg::Field(f) => f.span,
                PathSeg::Index(i) => i.span(),
            };
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "an alias names an object or a network instance",
                span,
                "unexpected",
            ));
            return None;
        }
        Some(m)
    }

    /// Follow instance fields and array indices; return the member reached and the remaining segments.
    fn walk_members<'p>(
        &mut self,
        ctx: &mut NetCtx,
        path: &'p ast::Path,
    ) -> Option<(Member, &'p [PathSeg])> {
        let root = &path.root;
        let Some(mut cur) = ctx.members.get(&root.name).cloned() else {
            if ctx.failed.contains(&root.name) {
                return None; // its declaration's error is the one to fix
            }
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NAME,
                format!("unknown name `{}`", root.name),
                root.span,
                "not declared in this network",
            );
            let names: Vec<&str> = ctx.members.keys().map(String::as_str).collect();
            if let Some(g) = snn_syntax::diag::did_you_mean(&root.name, names.iter().copied()) {
                d = d.with_help(format!("did you mean `{g}`?"));
            }
            self.diags.push(d);
            return None;
        };
        let mut i = 0;
        while i < path.segs.len() {
            match (&cur, &path.segs[i]) {
                (Member::Instance(members, _), PathSeg::Field(f)) => {
                    let Some(next) = members.get(&f.name).cloned() else {
                        if ctx.failed.contains(&root.name) {
                            return None; // the instance's own errors are the ones to fix
                        }
                        let names: Vec<&str> = members.keys().map(String::as_str).collect();
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FIELD,
                            format!("the instance has no member `{}`", f.name),
                            f.span,
                            "unknown member",
                        );
                        d = d.with_help(
                            match snn_syntax::diag::did_you_mean(&f.name, names.iter().copied()) {
                                Some(g) => format!("did you mean `{g}`?"),
                                None => format!("its members are: {}", names.join(", ")),
                            },
                        );
                        self.diags.push(d);
                        return None;
                    };
                    cur = next;
                }
                (Member::Array(items, _), PathSeg::Index(idx)) => {
                    let ast::Index::Expr(e) = idx else {
                        self.diags.push(Diagnostic::error(
                            codes::WRONG_KIND,
                            "pick one element of an array: `name[i]`",
                            idx.span(),
                            "slice of an array",
                        ));
                        return None;
                    };
                    let k = self.eval_int(ctx, e)?;
                    let Some(next) = items.get(&k).cloned() else {
                        let (lo, hi) = (
                            items.keys().next().copied().unwrap_or(0),
                            items.keys().last().copied().unwrap_or(-1),
                        );
                        self.diags.push(Diagnostic::error(
                            codes::INDEX_RANGE,
                            format!("`{}` has no element {k}", root.name),
                            e.span,
                            format!("elements are {lo}..={hi}"),
                        ));
                        return None;
                    };
                    cur = next;
                }
                (Member::Array(_, _), PathSeg::Field(f)) => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::WRONG_KIND,
                            format!("`{}` is an array; pick an element first", root.name),
                            f.span,
                            "field of an array",
                        )
                        .with_help(format!("write `{}[i].{}`", root.name, f.name)),
                    );
                    return None;
                }
                (Member::Instance(..), PathSeg::Index(idx)) => {
                    self.diags.push(Diagnostic::error(
                        codes::WRONG_KIND,
                        "a network instance cannot be indexed",
                        idx.span(),
                        "index of an instance",
                    ));
                    return None;
                }
                (Member::Object(..), _) => break,
            }
            i += 1;
        }
        Some((cur, &path.segs[i..]))
    }

    /// Resolve a full endpoint path: object, then `.neurons`, a slice, and (for probes) a state name.
    pub(crate) fn resolve_target(
        &mut self,
        ctx: &mut NetCtx,
        path: &ast::Path,
        allow_attr: bool,
        as_post: bool,
    ) -> Option<Target> {
        let (m, rest) = self.walk_members(ctx, path)?;
        let obj = match m {
            Member::Object(id, _) => id,
            Member::Instance(members, span) => {
                let names: Vec<&str> = members.keys().map(String::as_str).collect();
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        "a network instance is not an object to connect",
                        path.span,
                        "network instance",
                    )
                    .with_label(span, "instantiated here")
                    .with_help(format!("name one of its members: {}", names.join(", "))),
                );
                return None;
            }
            Member::Array(_, span) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("`{}` is an array of objects", path.root.name),
                        path.span,
                        "array",
                    )
                    .with_label(span, "declared in a loop here")
                    .with_help(format!("pick an element: `{}[0]`", path.root.name)),
                );
                return None;
            }
        };
        let mut port = Port::Value;
        let mut indices = None;
        let mut attr = None;
        let kind_name = self.model.object(obj).kind.describe();
        for seg in rest {
            match seg {
                PathSeg::Field(f)
                    if f.name == "neurons" && port == Port::Value && indices.is_none() =>
                {
                    match &self.model.object(obj).kind {
                        ObjectKind::Ensemble(_) | ObjectKind::Layer(_) => port = Port::Neurons,
                        _ => {
                            self.diags.push(
                                Diagnostic::error(
                                    codes::WRONG_KIND,
                                    format!(
                                        "{} has no neurons",
                                        snn_syntax::diag::with_article(kind_name)
                                    ),
                                    f.span,
                                    "not an ensemble or layer",
                                )
                                .with_label(self.model.object(obj).span, "declared here"),
                            );
                            return None;
                        }
                    }
                }
                PathSeg::Field(f) if allow_attr && attr.is_none() => {
                    let states: Vec<&str> = self
                        .model
                        .object(obj)
                        .neuron()
                        .map(|n| n.kind.info().states.iter().map(|s| s.var.name()).collect())
                        .unwrap_or_default();
                    let var = crate::spec::StateVar::from_name(&f.name)
                        .filter(|v| states.contains(&v.name()));
                    let Some(var) = var else {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FIELD,
                            format!("`{}` has no state `{}`", path.root.name, f.name),
                            f.span,
                            "unknown state",
                        );
                        d = d.with_help(if states.is_empty() {
                            "this neuron type has no state to probe".to_string()
                        } else {
                            format!("probeable states: {}", states.join(", "))
                        });
                        self.diags.push(d);
                        return None;
                    };
                    attr = Some(var);
                }
                PathSeg::Field(f) => {
                    self.diags.push(
                        Diagnostic::error(codes::UNKNOWN_FIELD, format!("{} has no member `{}`", snn_syntax::diag::with_article(kind_name), f.name), f.span, "unknown member")
                            .with_help("objects have `.neurons` (ensembles and layers); probes may add a state such as `.voltage`"),
                    );
                    return None;
                }
                PathSeg::Index(idx) if indices.is_none() => {
                    let len = self.port_size(obj, port, as_post);
                    let picks =
                        self.with_env(ctx, |env| crate::value::index_list(idx, len, env))?;
                    indices = Some(picks);
                }
                PathSeg::Index(idx) => {
                    self.diags.push(Diagnostic::error(
                        codes::INDEX_RANGE,
                        "only one selection is allowed on an object",
                        idx.span(),
                        "second selection",
                    ));
                    return None;
                }
            }
        }
        Some(Target { obj, port, indices, attr, span: path.span })
    }

    /// Size of an object's neurons, or of its value as a source (`as_post == false`) or target.
    pub(crate) fn port_size(&self, obj: ObjectId, port: Port, as_post: bool) -> usize {
        let o = self.model.object(obj);
        match (port, &o.kind) {
            (Port::Neurons, _) => o.n_neurons().unwrap_or(0),
            (Port::Value, ObjectKind::Node(_) | ObjectKind::Input) if as_post => o.size_in,
            (Port::Value, _) => o.size_out(),
        }
    }
}
