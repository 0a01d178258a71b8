/* srgan_train.c: the srgan-train command line. Parses options into an
 * sr_train_config and runs sr_train_run; SIGINT/SIGTERM ask the loop to
 * stop after the current iteration and write a checkpoint. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "srgan/model.h"
#include "srgan/train.h"
#include "srgan_config.h"
#include "train/dist.h"

/* The one piece of global state: a signal handler can reach nothing else. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: srgan-train --hr DIR [--lr DIR] --out DIR [options]\n"
"\n"
"Train a super-resolution generator: phase psnr (L1/MSE pretraining), then\n"
"phase gan (patch discriminator + VGG19 perceptual + adversarial losses).\n"
"\n"
"data:\n"
"  --hr DIR            HR training images (subdirectories included)\n"
"  --lr DIR            matching LR images (same names); default: made from HR\n"
"                      with MATLAB-compatible bicubic\n"
"  --degrade D         how LR is made from HR: bicubic (default), real\n"
"                      (Real-ESRGAN's second-order blur/resize/noise/JPEG),\n"
"                      microscopy (PSF, shot and read noise), or a parameter file\n"
"  --val DIR           validation HR images (PSNR/SSIM on Y, border = scale)\n"
"  --val-lr DIR        their LR images (same names); default: made from HR by\n"
"                      bicubic, or once by --val-degrade D (fixed seed)\n"
"  --patch N           HR crop size (128)          --batch N   batch size (16)\n"
"  --no-augment        no random flips/rotations   --cache-mb N  image cache (1024)\n"
"model:\n"
"  --phase psnr|gan    (psnr)                      --scale N   2, 3, 4 or 8 (4)\n"
"  --arch A            msrresnet, srresnet, srvgg, rrdbnet or edsr (msrresnet)\n"
"  --blocks N          residual blocks; srvgg: num_conv; rrdbnet: RRDBs (16)\n"
"  --features N        feature channels, num_feat (64); the rest as BasicSR /\n"
"                      Real-ESRGAN default them (rrdbnet num_grow_ch 32, srvgg\n"
"                      prelu, edsr res_scale 1, img_range 255, DIV2K mean);\n"
"                      rrdbnet trains x2 and x4 (x2: --patch a multiple of 4)\n"
"  --channels 1|3      image channels: 1 trains a gray model (= --gray) (3)\n"
"  --init FILE         start from a model or checkpoint (required for gan)\n"
"optimisation:\n"
"  --iters N           total iterations (psnr 200000, gan 100000)\n"
"  --lr-g X --lr-d X   learning rates (psnr 2e-4; gan 1e-4 both)\n"
"  --beta1 X --beta2 X Adam betas (0.9, 0.99)\n"
"  --schedule S        constant | cosine | cosine:P1,P2[@eta_min] |\n"
"                      multistep:M1,M2[@gamma]   (psnr cosine, gan constant)\n"
"  --clip X            clip gradient norm (off)  --ema X   EMA decay (0.999; 0 off)\n"
"losses:\n"
"  --pixel-loss l1|mse (l1)   --w-pixel X (psnr 1, gan 1e-2)\n"
"  --w-percep X (1)   --w-gan X (5e-3)   --gan-type ragan|vanilla (ragan)\n"
"  --vgg FILE          VGG19 weights (default $SRGAN_VGG, else vgg19_conv.safetensors\n"
"                      in the installed data directory; from a build directory,\n"
"                      SOURCE/../shared/vgg19/)\n"
"  --vgg-layers L      conv5_4 | conv3_4:0.5,conv5_4:1 (conv5_4, before ReLU)\n"
"  --vgg-input auto|caffe|torchvision  input convention (auto: from metadata)\n"
"  --d-channels N (64)  --d-norm spectral|none (spectral)\n"
"run:\n"
"  --out DIR           checkpoints, log.csv, curves.png, samples/, model.safetensors\n"
"  --resume [FILE]     continue exactly from a checkpoint (default OUT/checkpoint)\n"
"  --export FILE       write the (EMA) generator at the end\n"
"  --ckpt-every N (1000)  --val-every N (1000)  --log-every N (10)  --val-samples N (3)\n"
"  --threads N (2)  --seed N (1)  --quiet  --no-progress  --help  --version\n"
"  --precision fp32|bf16|auto  generator and VGG convs in bf16 (AMX, or AVX512-BF16),\n"
"                      fp32 sums and master weights (fp32; auto: bf16 where faster:\n"
"                      AMX, AMD Zen 4)\n"
"  --status-every N|Ns|Nm  a plain status line every N iterations, seconds or\n"
"                      minutes, and at each validation (default: 60s without the\n"
"                      live line, i.e. stderr not a terminal or --no-progress); 0: off\n"
"several machines: mpirun -np N srgan-train ... (a build with MPI): --batch is\n"
"  the whole batch, split over the N ranks; rank 0 writes --out (see man page)\n");
}

static int parse_num(const char *opt, const char *v, double *out)
{
    char *e;
    errno = 0;
    *out = v ? strtod(v, &e) : 0;
    if (!v || e == v || *e || errno) {
        fprintf(stderr, "srgan-train: %s needs a number, got '%s'\n", opt, v ? v : "");
        return -1;
    }
    return 0;
}

/* "500" iterations, "30s" or "5m"; 0 turns status lines off. */
static int parse_status(const char *v, sr_train_config *c)
{
    char *e;
    errno = 0;
    double x = v ? strtod(v, &e) : -1;
    double mult = 0; /* 0: iterations */
    if (v && e != v && (*e == 's' || *e == 'm') && e[1] == '\0')
        mult = *e == 's' ? 1 : 60, e++;
    if (!v || e == v || *e || errno || !(x >= 0) || (mult == 0 && x != (long)x)) {
        fprintf(stderr, "srgan-train: --status-every needs N (iterations), Ns or Nm, got '%s'\n",
                v ? v : "");
        return -1;
    }
    c->status_every = mult == 0 ? (long)x : 0;
    c->status_seconds = x * mult;
    return 0;
}

static int run(int argc, char **argv);
/* ranks > 0: stderr while the options are read (the same on every rank) */
static int g_stderr = -1;

/* Under mpirun every rank runs this program; MPI starts before the options
 * are read (MPI_Init may take its own) and ends after the run. */
int main(int argc, char **argv)
{
    sr_error err = {0};
    if (sr_dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "srgan-train: %s\n", err.msg);
        return 2;
    }
    /* the ranks parse the same options: rank 0 alone says what is wrong */
    if (sr_dist_rank() > 0) {
        int null = open("/dev/null", O_WRONLY);
        g_stderr = dup(2);
        if (null >= 0 && g_stderr >= 0) dup2(null, 2);
        if (null >= 0) close(null);
    }
    int rc = run(argc, argv);
    return sr_dist_finish(rc, rc == 1);
}

static int run(int argc, char **argv)
{
    sr_phase phase = SR_PHASE_PSNR;
    for (int i = 1; i < argc - 1; i++)
        if (!strcmp(argv[i], "--phase")) phase = !strcmp(argv[i + 1], "gan") ? SR_PHASE_GAN : phase;
    sr_train_config c;
    sr_train_config_defaults(&c, phase);
    c.progress = isatty(2);
    int status_given = 0;
    /* Never relative to the current directory: $SRGAN_VGG, else the data set
     * beside the source tree for a build-tree binary, else the installed data
     * directory (where a lab puts the file once). */
    const char *vgg_default = getenv("SRGAN_VGG");
    if (!vgg_default || !*vgg_default)
        vgg_default = sr_running_from_build_tree() ? SRGAN_SOURCE_ROOT "/../shared/vgg19/vgg19_conv.safetensors"
                                                   : SRGAN_DATADIR "/vgg19_conv.safetensors";
    char resume_buf[4096];
    int want_resume = 0;
    const char *resume_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x = 0;
#define NUM(name, dst)                                                                      \
    if (!strcmp(a, name)) {                                                                 \
        if (parse_num(a, v, &x)) return 2;                                                  \
        dst;                                                                                \
        i++;                                                                                \
        continue;                                                                           \
    }
#define STR(name, dst)                                                                      \
    if (!strcmp(a, name)) {                                                                 \
        if (!v) {                                                                           \
            fprintf(stderr, "srgan-train: %s needs a value\n", a);                          \
            return 2;                                                                       \
        }                                                                                   \
        dst = v;                                                                            \
        i++;                                                                                \
        continue;                                                                           \
    }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            printf("srgan-train %s\n", SRGAN_VERSION);
            return 0;
        }
        if (!strcmp(a, "--phase")) {
            if (!v || (strcmp(v, "psnr") && strcmp(v, "gan"))) {
                fprintf(stderr, "srgan-train: --phase must be psnr or gan\n");
                return 2;
            }
            i++;
            continue;
        }
        if (!strcmp(a, "--precision")) {
            sr_precision p = SR_PRECISION_FP32;
            if (!v || sr_precision_parse(v, &p)) {
                fprintf(stderr, "srgan-train: --precision must be fp32, bf16 or auto\n");
                return 2;
            }
            if (p == SR_PRECISION_BF16 && !sr_bf16_train_supported()) {
                fprintf(stderr, "srgan-train: --precision bf16 needs a CPU with AMX-BF16 or "
                                "AVX512-BF16 (Intel Sapphire Rapids, AMD Zen 4 or later); use "
                                "fp32 or auto\n");
                return 2;
            }
            c.bf16 = sr_train_precision_resolve(p) == SR_PRECISION_BF16;
            i++;
            continue;
        }
        STR("--hr", c.hr_dir)
        STR("--lr", c.lr_dir)
        STR("--val", c.val_dir)
        STR("--degrade", c.degrade)
        STR("--val-lr", c.val_lr_dir)
        STR("--val-degrade", c.val_degrade)
        STR("--out", c.out_dir)
        STR("--init", c.init)
        STR("--export", c.export_path)
        STR("--schedule", c.schedule)
        STR("--vgg", c.vgg_path)
        STR("--vgg-layers", c.vgg_layers)
        NUM("--patch", c.patch = (int)x)
        NUM("--batch", c.batch = (int)x)
        NUM("--cache-mb", c.cache_bytes = (size_t)(x * 1048576.0))
        NUM("--scale", c.gen.scale = (int)x)
        NUM("--blocks", c.gen.blocks = (int)x)
        NUM("--features", c.gen.channels = (int)x)
        NUM("--channels", c.gen.in_channels = c.gen.out_channels = (int)x)
        NUM("--iters", c.iters = (long)x)
        NUM("--lr-g", c.lr_g = x)
        NUM("--lr-d", c.lr_d = x)
        NUM("--beta1", c.beta1 = x)
        NUM("--beta2", c.beta2 = x)
        NUM("--clip", c.clip = x)
        NUM("--ema", c.ema_decay = x)
        NUM("--w-pixel", c.w_pixel = x)
        NUM("--w-percep", c.w_percep = x)
        NUM("--w-gan", c.w_gan = x)
        NUM("--d-channels", c.d_nf = (int)x)
        NUM("--ckpt-every", c.ckpt_every = (long)x)
        NUM("--val-every", c.val_every = (long)x)
        NUM("--log-every", c.log_every = (long)x)
        NUM("--val-samples", c.val_samples = (int)x)
        NUM("--threads", c.threads = (int)x)
        NUM("--seed", c.seed = (uint64_t)x)
        NUM("--queue", c.queue = (int)x)
        if (!strcmp(a, "--gray")) {
            c.gen.in_channels = c.gen.out_channels = 1;
            continue;
        }
        if (!strcmp(a, "--no-augment")) {
            c.augment = 0;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            c.quiet = 1, c.progress = 0;
            continue;
        }
        if (!strcmp(a, "--status-every")) {
            if (parse_status(v, &c)) return 2;
            status_given = 1;
            i++;
            continue;
        }
        if (!strcmp(a, "--no-progress")) {
            c.progress = 0;
            continue;
        }
        if (!strcmp(a, "--resume")) {
            want_resume = 1;
            if (v && v[0] != '-') resume_path = v, i++;
            continue;
        }
        if (!strcmp(a, "--arch") && v) {
            if (sr_arch_parse(v, &c.gen.arch)) {
                fprintf(stderr, "srgan-train: --arch '%s' is not one of %s\n", v, sr_arch_list());
                return 2;
            }
            i++;
            continue;
        }
        if (!strcmp(a, "--pixel-loss") && v) {
            if (strcmp(v, "l1") && strcmp(v, "mse")) {
                fprintf(stderr, "srgan-train: --pixel-loss must be l1 or mse\n");
                return 2;
            }
            c.pixel_mse = !strcmp(v, "mse");
            i++;
            continue;
        }
        if (!strcmp(a, "--gan-type") && v) {
            if (strcmp(v, "ragan") && strcmp(v, "vanilla")) {
                fprintf(stderr, "srgan-train: --gan-type must be ragan or vanilla\n");
                return 2;
            }
            c.gan_type = !strcmp(v, "vanilla") ? SR_GAN_VANILLA : SR_GAN_RAGAN;
            i++;
            continue;
        }
        if (!strcmp(a, "--vgg-input") && v) {
            if (!strcmp(v, "auto")) c.vgg_force = -1;
            else if (!strcmp(v, "caffe")) c.vgg_force = SR_VGG_CAFFE;
            else if (!strcmp(v, "torchvision")) c.vgg_force = SR_VGG_TORCHVISION;
            else {
                fprintf(stderr, "srgan-train: --vgg-input must be auto, caffe or torchvision\n");
                return 2;
            }
            i++;
            continue;
        }
        if (!strcmp(a, "--d-norm") && v) {
            if (strcmp(v, "spectral") && strcmp(v, "none")) {
                fprintf(stderr, "srgan-train: --d-norm must be spectral or none\n");
                return 2;
            }
            c.d_spectral = !strcmp(v, "spectral");
            i++;
            continue;
        }
        fprintf(stderr, "srgan-train: unknown option '%s' (see --help)\n", a);
        return 2;
#undef NUM
#undef STR
    }
    /* without a live line (a log file, nohup, Slurm, --no-progress) a plain
     * status line now and then */
    if (!status_given && !c.progress)
        c.status_seconds = 60;
    if (!c.hr_dir || !c.out_dir) {
        fprintf(stderr, "srgan-train: --hr DIR and --out DIR are required (see --help)\n");
        return 2;
    }
    if (want_resume) {
        if (!resume_path) {
            snprintf(resume_buf, sizeof resume_buf, "%s/checkpoint.safetensors", c.out_dir);
            resume_path = resume_buf;
        }
        c.resume = resume_path;
    }
    if (c.phase == SR_PHASE_GAN && !c.vgg_path)
        c.vgg_path = vgg_default;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (g_stderr >= 0) { /* training errors can be one rank's own */
        dup2(g_stderr, 2);
        close(g_stderr);
    }
    sr_error err = {0};
    int rc = sr_train_run(&c, &g_stop, &err);
    if (rc < 0) {
        if (sr_dist_should_report())
            fprintf(stderr, "srgan-train: %s\n", err.msg);
        return 1;
    }
    return rc == 1 ? 130 : 0;
}
