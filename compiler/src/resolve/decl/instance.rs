//! Network instances: `network sub = integrator(n = 100)`.

use super::derive_seed;
use crate::resolve::scope::{Member, NetCtx};
use crate::resolve::{Elab, FOLLOW_ON};
use crate::value::CtorArg;
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic};
use std::rc::Rc;

impl Elab<'_> {
    /// Instantiate `network name = net(args…)` and declare its members under `name`.
    pub(super) fn declare_instance(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::DeclName,
        value: &ast::Expr,
    ) {
        let Some(index) = self.decl_index(ctx, name) else { return };
        let ast::ExprKind::Call { callee, args } = &value.kind else {
            self.diags.push(
                Diagnostic::error(
                    codes::WRONG_KIND,
                    "a network instance is a call of a network",
                    value.span,
                    "not a call",
                )
                .with_help("e.g. `network sub = integrator(n = 100)`"),
            );
            return;
        };
        let net_name = match &callee.kind {
            ast::ExprKind::Name(id) => id.name.clone(),
            ast::ExprKind::Field { base, field } => match &base.kind {
                ast::ExprKind::Name(q) => format!("{}.{}", q.name, field.name),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let Some((file_ast, idx, def_file)) = self.find_network(ctx.file, &net_name) else {
            if self.network_broken(ctx.file, &net_name) {
                // its definition's syntax error is the one to fix
                self.diags.push(Diagnostic::error(FOLLOW_ON, "follow-on", callee.span, ""));
                return;
            }
            let names = self.visible_networks(ctx.file);
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NETWORK,
                format!("unknown network `{net_name}`"),
                callee.span,
                "not defined or imported",
            );
            d = d.with_help(
                match snn_syntax::diag::did_you_mean(&net_name, names.iter().map(String::as_str)) {
                    Some(g) => format!("did you mean `{g}`?"),
                    None => {
                        "define it with `network NAME(…) { … }` or import it with `use`".to_string()
                    }
                },
            );
            self.diags.push(d);
            return;
        };
        let ast::Item::Network(def) = &file_ast.items[idx] else { return };
        let mut evaluated = Vec::new();
        for a in args {
            let Some(v) = self.eval(ctx, &a.value) else { return };
            evaluated.push(CtorArg {
                name: a.name.as_ref().map(|n| n.name.clone()),
                value: v,
                span: a.span,
                value_span: a.value.span,
            });
        }
        let full = ctx.full_name(&name.name.name, index);
        let seed = derive_seed(ctx.seed, &full);
        let mut sub = NetCtx::new(def_file, format!("{full}."), ctx.config.clone(), seed);
        self.instantiate_body(&mut sub, def, &evaluated, value.span);
        if !sub.failed.is_empty() {
            // a member that did not parse or failed is missing: uses of it (`probe i.q`) are
            // follow-on errors
            ctx.failed.insert(name.name.name.clone());
        }
        self.insert_member(
            ctx,
            &name.name,
            index,
            Member::Instance(Rc::new(sub.members), name.span),
        );
    }
}
