//! A flow compiled for execution: every task of the tree by id, each flowable with its child lists
//! already split into main tasks, errors and finally, disabled tasks left out.

use std::collections::HashMap;
use std::sync::Arc;

use crate::history::{History, history_of, variables_read_history};
use peregrine_model::flow::Task;
use peregrine_model::tasks::{
    AllowFailureSpec, DagSpec, EachParallelSpec, EachSequentialSpec, ForEachItemSpec, ForEachSpec,
    IfSpec, LoopUntilSpec, ParallelSpec, PauseSpec, SequentialSpec, SubflowSpec, SwitchSpec,
    WorkingDirectoryCache, WorkingDirectorySpec,
};
use peregrine_model::{Flow, Property, Role};
use serde_json::Value;

/// Index of a task in [`FlowPlan`].
pub type NodeId = usize;

/// The three lists every container (the flow itself, or a flowable task) runs.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    pub tasks: Vec<NodeId>,
    pub errors: Vec<NodeId>,
    pub finally: Vec<NodeId>,
}

/// How a flowable task runs its children.
#[derive(Clone, Debug)]
pub enum Flowable {
    /// Sequential, AllowFailure (with `allow_failure`).
    Sequential {
        lists: Lists,
        allow_failure: bool,
    },
    Parallel {
        lists: Lists,
        concurrent: Option<Property<u32>>,
    },
    Switch {
        value: Property<String>,
        cases: Vec<(String, Vec<NodeId>)>,
        defaults: Vec<NodeId>,
        errors: Vec<NodeId>,
        finally: Vec<NodeId>,
    },
    If {
        condition: Property<String>,
        then: Vec<NodeId>,
        otherwise: Vec<NodeId>,
        errors: Vec<NodeId>,
        finally: Vec<NodeId>,
    },
    /// ForEach, EachSequential (limit 1), EachParallel (limit 0 or `concurrent`).
    ForEach {
        values: Value,
        lists: Lists,
        concurrency_limit: Option<Property<u32>>,
    },
    Dag {
        tasks: Vec<(NodeId, Vec<String>)>,
        errors: Vec<NodeId>,
        finally: Vec<NodeId>,
        concurrent: Option<Property<u32>>,
    },
    Pause {
        spec: Box<PauseSpec>,
        lists: Lists,
    },
    /// WorkingDirectory: runnable tasks in order, sharing one folder on one worker.
    WorkingDirectory {
        input_files: Option<Value>,
        cache: Option<Box<WorkingDirectoryCache>>,
        output_files: Vec<String>,
        /// `namespaceFiles`, as written (the worker renders and copies them).
        namespace_files: Option<Box<Value>>,
        lists: Lists,
    },
    /// LoopUntil (formerly WaitFor): the tasks again and again until the condition holds.
    Loop {
        spec: Box<LoopUntilSpec>,
        lists: Lists,
    },
    Subflow(Box<SubflowSpec>),
    /// ForEachItem's `<id>_items` step: one subflow per batch file of the `<id>_split` step.
    SubflowPerBatch(Box<ForEachItemSpec>),
    /// A flowable type the engine cannot run yet.
    Unsupported(&'static str),
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Runnable,
    Flowable(Flowable),
    /// `execution.Labels`: changes the execution itself, so the executor runs it.
    Labels,
    /// `execution.Exit`: ends the execution, so the executor runs it.
    Exit,
    /// ForEachItem's `<id>_merge` step: a worker task given the outputs of the subflows.
    MergeBatchOutputs,
}

/// The task types the executor runs itself because they change the execution.
const LABELS_TYPE: &str = "io.kestra.plugin.core.execution.Labels";
const EXIT_TYPE: &str = "io.kestra.plugin.core.execution.Exit";

#[derive(Clone, Debug)]
pub struct TaskNode {
    pub task: Task,
    pub kind: NodeKind,
    /// What of `outputs` and `tasks` the task's templates may read: its jobs carry only that,
    /// so a step costs the same in a 10,000-run execution.
    pub history: History,
}

/// A compiled flow, cheap to share between executions of the same revision.
#[derive(Debug)]
pub struct FlowPlan {
    pub flow: Arc<Flow>,
    nodes: Vec<TaskNode>,
    by_id: HashMap<String, NodeId>,
    pub root: Lists,
}

/// A task that could not be compiled (its spec does not read).
#[derive(Debug, Clone, thiserror::Error)]
#[error("task '{task_id}': {message}")]
pub struct PlanError {
    pub task_id: String,
    pub message: String,
}

impl FlowPlan {
    /// Compiles a validated flow. `role_of` tells runnable from flowable types (the catalogue).
    pub fn new(flow: Arc<Flow>, role_of: &dyn Fn(&str) -> Role) -> Result<Self, PlanError> {
        let mut builder = Builder {
            nodes: Vec::new(),
            by_id: HashMap::new(),
            role_of,
            variables_read_history: variables_read_history(flow.variables.as_ref()),
        };
        let root = Lists {
            tasks: builder.list(&flow.tasks)?,
            errors: builder.list(&flow.errors)?,
            finally: builder.list(&flow.finally_tasks)?,
        };
        Ok(Self {
            flow,
            nodes: builder.nodes,
            by_id: builder.by_id,
            root,
        })
    }

    pub fn node(&self, id: NodeId) -> &TaskNode {
        &self.nodes[id]
    }

    pub fn find(&self, task_id: &str) -> Option<NodeId> {
        self.by_id.get(task_id).copied()
    }
}

struct Builder<'a> {
    nodes: Vec<TaskNode>,
    by_id: HashMap<String, NodeId>,
    role_of: &'a dyn Fn(&str) -> Role,
    /// The flow's `variables` may read other task runs' results (through `render(vars...)`).
    variables_read_history: bool,
}

impl Builder<'_> {
    fn list(&mut self, tasks: &[Task]) -> Result<Vec<NodeId>, PlanError> {
        let mut ids = Vec::new();
        for task in tasks.iter().filter(|task| !task.common.disabled) {
            ids.push(self.add(task)?);
        }
        Ok(ids)
    }

    fn lists(
        &mut self,
        tasks: &[Task],
        errors: &[Task],
        finally: &[Task],
    ) -> Result<Lists, PlanError> {
        Ok(Lists {
            tasks: self.list(tasks)?,
            errors: self.list(errors)?,
            finally: self.list(finally)?,
        })
    }

    fn add(&mut self, task: &Task) -> Result<NodeId, PlanError> {
        let id = self.nodes.len();
        // Reserve the slot first so parents come before their children.
        self.nodes.push(TaskNode {
            task: task.clone(),
            kind: NodeKind::Runnable,
            history: history_of(task, self.variables_read_history),
        });
        self.by_id.insert(task.common.id.clone(), id);
        let kind = match (self.role_of)(&task.common.type_name) {
            _ if task.common.type_name == LABELS_TYPE => NodeKind::Labels,
            _ if task.common.type_name == EXIT_TYPE => NodeKind::Exit,
            Role::Flowable => NodeKind::Flowable(self.flowable(task)?),
            Role::Runnable | Role::None => NodeKind::Runnable,
        };
        self.nodes[id].kind = kind;
        Ok(id)
    }

    /// Adds a step a flowable expands into (not written in the flow), with its kind.
    fn add_step(&mut self, task: Task, kind: NodeKind) -> NodeId {
        let id = self.nodes.len();
        self.by_id.insert(task.common.id.clone(), id);
        self.nodes.push(TaskNode {
            history: history_of(&task, self.variables_read_history),
            task,
            kind,
        });
        id
    }

    fn flowable(&mut self, task: &Task) -> Result<Flowable, PlanError> {
        let error = |error: serde_json::Error| PlanError {
            task_id: task.common.id.clone(),
            message: error.to_string(),
        };
        let type_name = task.common.type_name.as_str();
        let short = type_name.rsplit('.').next().unwrap_or(type_name);
        Ok(match short {
            "Sequential" => {
                let spec: SequentialSpec = task.spec().map_err(error)?;
                Flowable::Sequential {
                    lists: self.lists(&spec.tasks, &spec.errors, &spec.finally_tasks)?,
                    allow_failure: false,
                }
            }
            "AllowFailure" => {
                let spec: AllowFailureSpec = task.spec().map_err(error)?;
                Flowable::Sequential {
                    lists: self.lists(&spec.tasks, &spec.errors, &spec.finally_tasks)?,
                    allow_failure: true,
                }
            }
            "Parallel" => {
                let spec: ParallelSpec = task.spec().map_err(error)?;
                Flowable::Parallel {
                    lists: self.lists(&spec.tasks, &spec.errors, &spec.finally_tasks)?,
                    concurrent: spec.concurrent,
                }
            }
            "Switch" => {
                let spec: SwitchSpec = task.spec().map_err(error)?;
                let mut cases = Vec::new();
                for (key, tasks) in &spec.cases {
                    cases.push((key.clone(), self.list(tasks)?));
                }
                Flowable::Switch {
                    value: spec.value,
                    cases,
                    defaults: self.list(&spec.defaults)?,
                    errors: self.list(&spec.errors)?,
                    finally: self.list(&spec.finally_tasks)?,
                }
            }
            "If" => {
                let spec: IfSpec = task.spec().map_err(error)?;
                Flowable::If {
                    condition: spec.condition,
                    then: self.list(&spec.then)?,
                    otherwise: self.list(&spec.else_tasks)?,
                    errors: self.list(&spec.errors)?,
                    finally: self.list(&spec.finally_tasks)?,
                }
            }
            "ForEach" => {
                let spec: ForEachSpec = task.spec().map_err(error)?;
                Flowable::ForEach {
                    values: spec.values,
                    lists: self.lists(&spec.tasks, &spec.errors, &spec.finally_tasks)?,
                    concurrency_limit: Some(Property::Value(spec.concurrency_limit)),
                }
            }
            "EachSequential" => {
                let spec: EachSequentialSpec = task.spec().map_err(error)?;
                Flowable::ForEach {
                    values: spec.value,
                    lists: self.lists(&spec.tasks, &spec.errors, &[])?,
                    concurrency_limit: Some(Property::Value(1)),
                }
            }
            "EachParallel" => {
                let spec: EachParallelSpec = task.spec().map_err(error)?;
                Flowable::ForEach {
                    values: spec.value,
                    lists: self.lists(&spec.tasks, &spec.errors, &[])?,
                    concurrency_limit: Some(spec.concurrent.unwrap_or(Property::Value(0))),
                }
            }
            "Dag" => {
                let spec: DagSpec = task.spec().map_err(error)?;
                let mut tasks = Vec::new();
                for entry in spec
                    .tasks
                    .iter()
                    .filter(|entry| !entry.task.common.disabled)
                {
                    tasks.push((self.add(&entry.task)?, entry.depends_on.clone()));
                }
                Flowable::Dag {
                    tasks,
                    errors: self.list(&spec.errors)?,
                    finally: self.list(&spec.finally_tasks)?,
                    concurrent: spec.concurrent,
                }
            }
            "Pause" => {
                let spec: PauseSpec = task.spec().map_err(error)?;
                let lists = self.lists(&spec.tasks, &spec.errors, &[])?;
                Flowable::Pause {
                    spec: Box::new(spec),
                    lists,
                }
            }
            "Subflow" | "Flow" => Flowable::Subflow(Box::new(task.spec().map_err(error)?)),
            "ForEachItem" => {
                let spec: ForEachItemSpec = task.spec().map_err(error)?;
                let tasks = crate::for_each_item::steps(task, &spec)
                    .map_err(error)?
                    .into_iter()
                    .map(|(step, kind)| self.add_step(step, kind))
                    .collect();
                Flowable::Sequential {
                    lists: Lists {
                        tasks,
                        errors: self.list(&spec.errors)?,
                        finally: Vec::new(),
                    },
                    allow_failure: false,
                }
            }
            "WorkingDirectory" => {
                let spec: WorkingDirectorySpec = task.spec().map_err(error)?;
                let lists = self.lists(&spec.tasks, &spec.errors, &spec.finally_tasks)?;
                Flowable::WorkingDirectory {
                    input_files: spec.input_files,
                    cache: spec.cache.map(Box::new),
                    output_files: spec.output_files.unwrap_or_default(),
                    namespace_files: spec.namespace_files.map(Box::new),
                    lists,
                }
            }
            "LoopUntil" | "WaitFor" => {
                let spec: LoopUntilSpec = task.spec().map_err(error)?;
                let lists = self.lists(&spec.tasks, &spec.errors, &[])?;
                Flowable::Loop {
                    spec: Box::new(spec),
                    lists,
                }
            }
            _ => Flowable::Unsupported(match short {
                "Template" => "Template",
                _ => "this flowable type",
            }),
        })
    }
}
