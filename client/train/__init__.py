"""tf.train"""
from tfmini.train.optimizer import (AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer,  # noqa: F401
                                    MomentumOptimizer, Optimizer, RMSPropOptimizer)
from tfmini.train.training_util import (create_global_step, get_global_step,  # noqa: F401
                                        get_or_create_global_step, global_step)
from tfmini.train.saver import (Saver, checkpoint_exists, get_checkpoint_state,  # noqa: F401
                               latest_checkpoint)
from tfmini.train.checkpoint_management import update_checkpoint_state  # noqa: F401,E402  (V2 checkpoints)
from tfmini.train.checkpoint_utils import (NewCheckpointReader, init_from_checkpoint,  # noqa: F401,E402
                                           list_variables, load_checkpoint, load_variable)
from tfmini.server.device_setter import replica_device_setter  # noqa: F401,E402  (distributed)
from tfmini.server.server import ClusterSpec, Server  # noqa: F401,E402
from tfmini.summary import FileWriter as SummaryWriter, summary_iterator  # noqa: F401,E402  (TF 0.x names)
from tfmini.importer import write_graph  # noqa: F401,E402
from tfmini.train.more_optimizers import (AdadeltaOptimizer, FtrlOptimizer,  # noqa: F401,E402
                                          ProximalAdagradOptimizer, ProximalGradientDescentOptimizer)
from tfmini.train.learning_rate_decay import (cosine_decay, exponential_decay, inverse_time_decay,  # noqa: F401,E402
                                              natural_exp_decay, piecewise_constant, polynomial_decay)
from tfmini.train.moving_averages import ExponentialMovingAverage  # noqa: F401,E402
from tfmini.protos.example_pb2 import Example, SequenceExample  # noqa: F401,E402  (tf.train.Example protos)
from tfmini.protos.feature_pb2 import (BytesList, Feature, FeatureList, FeatureLists, Features,  # noqa: F401,E402
                                       FloatList, Int64List)
from tfmini.train.coordinator import Coordinator, LooperThread  # noqa: F401,E402  (input pipelines)
from tfmini.train.queue_runner import QueueRunner, add_queue_runner, start_queue_runners  # noqa: F401,E402
from tfmini.train.input import (batch, batch_join, input_producer, limit_epochs,  # noqa: F401,E402
                                range_input_producer, shuffle_batch, shuffle_batch_join, slice_input_producer,
                                string_input_producer)
# Monitored training, Supervisor, SyncReplicasOptimizer (issue 17).
from tfmini.train.session_run_hook import (SessionRunArgs, SessionRunContext, SessionRunHook,  # noqa: F401,E402
                                           SessionRunValues)
from tfmini.train.basic_session_run_hooks import (CheckpointSaverHook, CheckpointSaverListener,  # noqa: F401,E402
                                                  FeedFnHook, FinalOpsHook, GlobalStepWaiterHook, LoggingTensorHook,
                                                  NanLossDuringTrainingError, NanTensorHook, SecondOrStepTimer,
                                                  StepCounterHook, StopAtStepHook, SummarySaverHook,
                                                  SummaryWriterCache)
from tfmini.train.session_manager import SessionManager  # noqa: F401,E402
from tfmini.train.monitored_session import (ChiefSessionCreator, MonitoredSession,  # noqa: F401,E402
                                            MonitoredTrainingSession, Scaffold, SessionCreator,
                                            SingularMonitoredSession, WorkerSessionCreator)
from tfmini.train.supervisor import Supervisor  # noqa: F401,E402
from tfmini.train.sync_replicas_optimizer import SyncReplicasOptimizer  # noqa: F401,E402
# Meta graphs: the `.meta` file Saver.save writes (issue 17).
from tfmini.train.meta_graph import export_meta_graph, import_meta_graph  # noqa: F401,E402
