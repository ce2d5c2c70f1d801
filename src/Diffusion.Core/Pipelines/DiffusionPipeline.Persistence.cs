using System.Text.Json;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Models.Internal;
using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Diffusion.Internal;

namespace Diffusion.Pipelines;

/// <summary>Loading and saving diffusers <c>DDPMPipeline</c> / <c>DDIMPipeline</c> folders.</summary>
public sealed partial class DiffusionPipeline
{
    /// <summary>The pipeline index file of a diffusers pipeline folder.</summary>
    public const string ModelIndexFileName = ModelIndexFile.FileName;

    /// <summary>
    /// Opens a diffusers pixel-space pipeline folder (<c>model_index.json</c> with <c>_class_name</c> <c>DDPMPipeline</c> or
    /// <c>DDIMPipeline</c>, a <c>unet/</c> <see cref="UNet2DModel"/> folder and <c>scheduler/scheduler_config.json</c>), such as
    /// a download of <c>google/ddpm-cifar10-32</c>, or a bare <see cref="UNet2DModel"/> folder (<c>config.json</c>, no
    /// <c>model_index.json</c>).
    /// </summary>
    /// <remarks>
    /// The folder's files are checked before any model is built. Image size and channels come from the U-Net's
    /// <c>sample_size</c> and <c>in_channels</c>; a non-square or missing <c>sample_size</c> and class-conditional U-Nets are refused.
    /// A bare U-Net folder without a <paramref name="scheduler"/> samples with a <see cref="DdpmScheduler"/> at diffusers'
    /// defaults and the config's <c>num_train_timesteps</c> (1000 when it has none), which is logged.
    /// <para>Ownership: the returned pipeline owns the model it loads and the scheduler it reads or makes, and disposes
    /// them in <see cref="Dispose"/>; a <paramref name="scheduler"/> passed in stays the caller's.</para>
    /// </remarks>
    /// <param name="directory">The pipeline folder or a bare UNet2DModel folder.</param>
    /// <param name="scheduler">Replaces the saved scheduler (any of this library's); null uses the saved one.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32.</param>
    /// <param name="loggerFactory">Receives what was ignored or defaulted; null means none.</param>
    /// <returns>A pipeline the caller disposes.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">Neither <c>model_index.json</c> nor <c>config.json</c> is there, or a component's file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, names a pipeline or component this library cannot load, or has a value of the wrong type; the message names the file.</exception>
    public static DiffusionPipeline FromPretrained(string directory, INoiseScheduler? scheduler = null, Device? device = null,
        ScalarType? dtype = null, ILoggerFactory? loggerFactory = null)
    {
        PretrainedFolder.RequireDirectory(directory, "Pipeline");
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DiffusionPipeline>();
        string indexPath = Path.Combine(directory, ModelIndexFileName);
        string unetDirectory, schedulerPath;
        bool bare = !File.Exists(indexPath);
        if (bare)
        {
            unetDirectory = directory;
            schedulerPath = "";
            if (!File.Exists(Path.Combine(directory, UNet2DModel.ConfigFileName)))
            {
                throw new FileNotFoundException(
                    $"{directory} is neither a pipeline folder nor a UNet2DModel folder: it has no {ModelIndexFileName} and no {UNet2DModel.ConfigFileName}.", indexPath);
            }
        }
        else
        {
            ReadModelIndex(indexPath, logger);
            unetDirectory = Path.Combine(directory, PretrainedFolder.UNetFolder);
            schedulerPath = Path.Combine(directory, PretrainedFolder.SchedulerFolder, PretrainedFolder.SchedulerConfigFileName);
            RequireFile(Path.Combine(unetDirectory, UNet2DModel.ConfigFileName), indexPath, PretrainedFolder.UNetFolder);
            if (scheduler is null)
            {
                RequireFile(schedulerPath, indexPath, PretrainedFolder.SchedulerFolder);
            }
        }

        string configPath = Path.Combine(unetDirectory, UNet2DModel.ConfigFileName);
        (int imageSize, int channels, int? trainSteps) = ReadSampleShape(configPath, bare);

        INoiseScheduler? ownScheduler = null;
        try
        {
            if (scheduler is null)
            {
                if (bare)
                {
                    int steps = trainSteps ?? new DdpmSchedulerOptions().NumTrainTimesteps;
                    ownScheduler = new DdpmScheduler(new DdpmSchedulerOptions { NumTrainTimesteps = steps });
                    Log.DefaultScheduler(logger, directory, steps);
                }
                else
                {
                    ownScheduler = SchedulerConfig.Load(schedulerPath, loggerFactory);
                }
            }
            else if (!bare)
            {
                Log.SchedulerReplaced(logger, directory, PretrainedFolder.SchedulerFolder + "/" + PretrainedFolder.SchedulerConfigFileName, scheduler.GetType().Name);
            }

            UNet2DModel unet = UNet2DModel.FromPretrained(unetDirectory, device, dtype, loggerFactory);
            try
            {
                return new DiffusionPipeline(unet, ownScheduler ?? scheduler!, channels, imageSize, ownsModel: true, ownsScheduler: ownScheduler is not null);
            }
            catch
            {
                unet.Dispose();
                throw;
            }
        }
        catch
        {
            ownScheduler?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the pipeline as a diffusers pipeline folder that diffusers' <c>DDPMPipeline.from_pretrained</c> /
    /// <c>DDIMPipeline.from_pretrained</c> and <see cref="FromPretrained"/> open: <c>model_index.json</c>
    /// (<c>DDPMPipeline</c> for a <see cref="DdpmScheduler"/>, <c>DDIMPipeline</c> for a <see cref="DdimScheduler"/>),
    /// <c>unet/</c> (<see cref="UNet2DModel.SavePretrained"/>) and <c>scheduler/scheduler_config.json</c>
    /// (<see cref="SchedulerConfig.ToJson"/>). Each file is written to a temporary name and renamed; <c>model_index.json</c> last.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="NotSupportedException">The model is not a <see cref="UNet2DModel"/>, or the scheduler has no diffusers
    /// pixel-space pipeline class (only DDPM and DDIM have one); nothing is written. Save the parts with
    /// <see cref="UNet2DModel.SavePretrained"/> and <see cref="SchedulerConfig.ToJson"/> instead.</exception>
    /// <exception cref="ObjectDisposedException">The pipeline has been disposed.</exception>
    /// <exception cref="IOException">A file could not be written.</exception>
    public void SavePretrained(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (model is not UNet2DModel unet)
        {
            throw new NotSupportedException(
                $"Only a pipeline whose model is a UNet2DModel can be saved as a diffusers pipeline folder; this one's model is a {model.GetType().Name}.");
        }

        string pipelineClass = Scheduler switch
        {
            DdpmScheduler => DdpmPipelineClass,
            DdimScheduler => DdimPipelineClass,
            _ => throw new NotSupportedException(
                $"diffusers has no pixel-space pipeline class for a {Scheduler.GetType().Name} (DDPMPipeline takes a DDPMScheduler, DDIMPipeline a DDIMScheduler); " +
                "save the U-Net with UNet2DModel.SavePretrained and the scheduler with SchedulerConfig.ToJson instead."),
        };
        string schedulerJson = SchedulerConfig.ToJson(Scheduler);
        string schedulerClass = Scheduler is DdpmScheduler ? "DDPMScheduler" : "DDIMScheduler";

        Directory.CreateDirectory(directory);
        unet.SavePretrained(Path.Combine(directory, PretrainedFolder.UNetFolder));
        string schedulerDirectory = Path.Combine(directory, PretrainedFolder.SchedulerFolder);
        Directory.CreateDirectory(schedulerDirectory);
        AtomicFile.WriteAllText(Path.Combine(schedulerDirectory, PretrainedFolder.SchedulerConfigFileName), schedulerJson);
        AtomicFile.WriteAllText(Path.Combine(directory, ModelIndexFileName), ModelIndexJson(pipelineClass, schedulerClass));
    }
}
