// Nomad HTTP API JSON shapes, PascalCase exactly as Nomad serves and accepts them. Only fields the plugin reads or
// writes are named; every object keeps an index signature because Nomad sends (and must get back) far more, and a
// job read from Nomad is re-registered whole (Start, Deploy): nothing here may force a lossy projection.
// Times: `*Time` fields (SubmitTime, CreateTime, ModifyTime, event Time) are int64 unix nanoseconds and lose precision
// in JSON.parse; nothing in the plugin compares them exactly. StartedAt/FinishedAt/LastRestart are RFC 3339 strings.
// Durations (Interval, Timeout, Delay, MinHealthyTime, ...) are nanoseconds and stay below 2^53.

/** Nanoseconds, as Nomad encodes durations. */
export type Nanos = number;

export interface Port {
  Label: string;
  /** Host port; 0 (or absent) = dynamic. */
  Value?: number;
  /** Port inside the task's network namespace. */
  To?: number;
  HostNetwork?: string;
  [extra: string]: unknown;
}

export interface NetworkResource {
  Mode?: string;
  ReservedPorts?: Port[] | null;
  DynamicPorts?: Port[] | null;
  IP?: string;
  [extra: string]: unknown;
}

export interface RequestedDevice {
  Name: string;
  Count?: number;
  [extra: string]: unknown;
}

export interface Resources {
  /** MHz. */
  CPU?: number;
  MemoryMB?: number;
  MemoryMaxMB?: number;
  DiskMB?: number;
  Networks?: NetworkResource[] | null;
  Devices?: RequestedDevice[] | null;
  [extra: string]: unknown;
}

export interface TaskLifecycle {
  Hook: "prestart" | "poststart" | "poststop";
  Sidecar: boolean;
}

export interface ServiceCheck {
  Name?: string;
  Type: "http" | "tcp" | "script" | "grpc";
  Path?: string;
  Protocol?: string;
  PortLabel?: string;
  Interval: Nanos;
  Timeout: Nanos;
  CheckRestart?: CheckRestart | null;
  [extra: string]: unknown;
}

export interface CheckRestart {
  Limit: number;
  Grace?: Nanos;
  IgnoreWarnings?: boolean;
}

export interface Service {
  Name: string;
  PortLabel?: string;
  TaskName?: string;
  Tags?: string[] | null;
  /** "nomad" (built-in service discovery) or "consul". */
  Provider?: string;
  Checks?: ServiceCheck[] | null;
  [extra: string]: unknown;
}

export interface Template {
  EmbeddedTmpl?: string;
  DestPath: string;
  ChangeMode?: string;
  Envvars?: boolean;
  LeftDelim?: string;
  RightDelim?: string;
  Perms?: string;
  [extra: string]: unknown;
}

export interface VolumeRequest {
  Name: string;
  Type: "host" | "csi";
  Source: string;
  ReadOnly?: boolean;
  AccessMode?: string;
  AttachmentMode?: string;
  PerAlloc?: boolean;
  [extra: string]: unknown;
}

export interface VolumeMount {
  Volume: string;
  Destination: string;
  ReadOnly?: boolean;
  [extra: string]: unknown;
}

export interface Task {
  Name: string;
  Driver: string;
  Config: Record<string, unknown>;
  Env?: Record<string, string> | null;
  Resources?: Resources | null;
  Lifecycle?: TaskLifecycle | null;
  Templates?: Template[] | null;
  Services?: Service[] | null;
  VolumeMounts?: VolumeMount[] | null;
  Meta?: Record<string, string> | null;
  KillTimeout?: Nanos | null;
  [extra: string]: unknown;
}

export interface UpdateStrategy {
  MaxParallel?: number;
  HealthCheck?: "checks" | "task_states" | "manual" | string;
  MinHealthyTime?: Nanos;
  HealthyDeadline?: Nanos;
  ProgressDeadline?: Nanos;
  AutoRevert?: boolean;
  AutoPromote?: boolean;
  Canary?: number;
  Stagger?: Nanos | null;
  [extra: string]: unknown;
}

export interface EphemeralDisk {
  SizeMB: number;
  Sticky?: boolean | null;
  Migrate?: boolean | null;
}

export interface TaskGroup {
  Name: string;
  Count: number;
  Tasks: Task[];
  Networks?: NetworkResource[] | null;
  Services?: Service[] | null;
  Volumes?: Record<string, VolumeRequest> | null;
  EphemeralDisk?: EphemeralDisk | null;
  Update?: UpdateStrategy | null;
  Meta?: Record<string, string> | null;
  [extra: string]: unknown;
}

export interface Job {
  ID: string;
  Name: string;
  Type: "service" | "batch" | "system" | "sysbatch" | string;
  Region?: string | null;
  Namespace?: string | null;
  Datacenters?: string[] | null;
  TaskGroups: TaskGroup[];
  Update?: UpdateStrategy | null;
  Meta?: Record<string, string> | null;
  Stop?: boolean | null;
  // Set by Nomad; ignored on register.
  Status?: string;
  StatusDescription?: string;
  Stable?: boolean;
  Version?: number;
  SubmitTime?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
  JobModifyIndex?: number;
  [extra: string]: unknown;
}

/** Body of POST /v1/jobs and POST /v1/job/:id. */
export interface JobRegisterRequest {
  Job: Job;
  /** With JobModifyIndex 0: create only if the job does not exist; otherwise: only if it is still at that index. */
  EnforceIndex?: boolean;
  JobModifyIndex?: number;
  /** Keep the running group counts (a resource change must not undo a scale). */
  PreserveCounts?: boolean;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings?: string;
  Index?: number;
  [extra: string]: unknown;
}

/** DELETE /v1/job/:id and POST /v1/job/:id/scale answer with an evaluation reference. */
export interface JobEvalResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Index?: number;
  [extra: string]: unknown;
}

export interface JobScaleRequest {
  Count?: number;
  Target: { Group: string };
  Message?: string;
  Error?: boolean;
  Meta?: Record<string, unknown>;
  PolicyOverride?: boolean;
}

export interface JobVersionsResponse {
  Versions: Job[];
  Diffs?: unknown[] | null;
}

export interface TaskEvent {
  Type: string;
  /** unix ns (rounded by JSON.parse). */
  Time: number;
  Message?: string;
  DisplayMessage?: string;
  Details?: Record<string, string> | null;
  FailsTask?: boolean;
  ExitCode?: number;
  RestartReason?: string;
  DriverError?: string;
  [extra: string]: unknown;
}

export interface TaskState {
  State: "pending" | "running" | "dead" | string;
  Failed: boolean;
  Restarts?: number;
  LastRestart?: string | null;
  StartedAt?: string | null;
  FinishedAt?: string | null;
  Events?: TaskEvent[] | null;
  [extra: string]: unknown;
}

export type ClientStatus = "pending" | "running" | "complete" | "failed" | "lost" | "unknown";

export interface AllocatedPort {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

export interface AllocatedResources {
  Shared?: { Ports?: AllocatedPort[] | null; Networks?: NetworkResource[] | null; DiskMB?: number } | null;
  Tasks?: Record<string, unknown> | null;
  [extra: string]: unknown;
}

export interface AllocDeploymentStatus {
  Healthy?: boolean | null;
  Timestamp?: string;
  Canary?: boolean;
  ModifyIndex?: number;
}

/** What list entries and full allocations share. */
export interface AllocationBase {
  ID: string;
  EvalID?: string;
  Name: string;
  Namespace?: string;
  NodeID: string;
  NodeName?: string;
  JobID: string;
  TaskGroup: string;
  DesiredStatus: "run" | "stop" | "evict" | string;
  DesiredDescription?: string;
  ClientStatus: ClientStatus | string;
  ClientDescription?: string;
  TaskStates?: Record<string, TaskState> | null;
  DeploymentStatus?: AllocDeploymentStatus | null;
  /** Present only when the server includes resources in stubs. */
  AllocatedResources?: AllocatedResources | null;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime?: number;
  ModifyTime?: number;
  [extra: string]: unknown;
}

/** An element of GET /v1/job/:id/allocations (and /v1/allocations). */
export interface AllocListStub extends AllocationBase {
  JobVersion: number;
}

/** GET /v1/allocation/:id: the full allocation, with its job (its version is Job.Version). */
export interface Allocation extends AllocationBase {
  Job?: Job | null;
  JobVersion?: number;
  DeploymentID?: string;
  AllocatedResources?: AllocatedResources | null;
}

export interface Evaluation {
  ID: string;
  JobID: string;
  Status: "pending" | "complete" | "failed" | "blocked" | "canceled" | string;
  StatusDescription?: string;
  Type?: string;
  TriggeredBy?: string;
  DeploymentID?: string;
  BlockedEval?: string;
  FailedTGAllocs?: Record<string, AllocationMetric> | null;
  /** Per group: allocations this evaluation could not place. */
  QueuedAllocations?: Record<string, number> | null;
  CreateIndex: number;
  ModifyIndex: number;
  [extra: string]: unknown;
}

/** Nomad's DesiredUpdates: per task group, what a scheduler pass does to allocations. */
export interface DesiredUpdates {
  Ignore?: number;
  Place?: number;
  Migrate?: number;
  Stop?: number;
  InPlaceUpdate?: number;
  DestructiveUpdate?: number;
  Canary?: number;
  Preemptions?: number;
}

/** Nomad's FieldDiff/ObjectDiff/TaskDiff/TaskGroupDiff/JobDiff share this structure (structs/diff.go). */
export interface DiffNode {
  Type: "None" | "Added" | "Deleted" | "Edited";
  Name?: string;
  ID?: string;
  Old?: string;
  New?: string;
  Fields?: DiffNode[] | null;
  Objects?: DiffNode[] | null;
  Tasks?: DiffNode[] | null;
  TaskGroups?: DiffNode[] | null;
}

/** Nomad's JobPlanResponse (POST /v1/job/:id/plan). */
export interface JobPlanResponse {
  Annotations?: { DesiredTGUpdates?: Record<string, DesiredUpdates> | null } | null;
  FailedTGAllocs?: Record<string, AllocationMetric> | null;
  JobModifyIndex: number;
  Diff?: DiffNode | null;
  Warnings?: string;
  [extra: string]: unknown;
}

export interface AllocationMetric {
  NodesEvaluated?: number;
  NodesFiltered?: number;
  NodesExhausted?: number;
  DimensionExhausted?: Record<string, number> | null;
  ConstraintFiltered?: Record<string, number> | null;
  ClassFiltered?: Record<string, number> | null;
  CoalescedFailures?: number;
  [extra: string]: unknown;
}

export interface DeploymentGroupState {
  AutoRevert?: boolean;
  Promoted?: boolean;
  PlacedCanaries?: string[] | null;
  DesiredCanaries?: number;
  DesiredTotal?: number;
  PlacedAllocs?: number;
  HealthyAllocs?: number;
  UnhealthyAllocs?: number;
  [extra: string]: unknown;
}

export interface Deployment {
  ID: string;
  JobID: string;
  JobVersion: number;
  Status: "running" | "successful" | "failed" | "cancelled" | "paused" | "pending" | "blocked" | string;
  StatusDescription?: string;
  TaskGroups?: Record<string, DeploymentGroupState> | null;
  CreateIndex: number;
  ModifyIndex: number;
  [extra: string]: unknown;
}

/** One line of GET /v1/event/stream; `{}` (no Index) is a heartbeat. */
export interface EventBatch {
  Index?: number;
  Events?: StreamEvent[] | null;
}

export interface StreamEvent {
  Topic: "Job" | "Allocation" | "Deployment" | "Evaluation" | "Node" | string;
  Type: string;
  Key: string;
  Namespace?: string;
  FilterKeys?: string[] | null;
  Index: number;
  Payload?: {
    Job?: Job;
    Allocation?: Allocation;
    Deployment?: Deployment;
    Evaluation?: Evaluation;
    [extra: string]: unknown;
  } | null;
}
