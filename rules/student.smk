rule tokenizer:
    input:
        verified=lambda wc: expand(rules.verify.output.kept, teacher=TEACHERS, shard=SHARDS),
        code=code("problems", "student"),
    output:
        folder=directory(R + "/students/tokenizer"),
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
        arithmetic=config["problems"].get("arithmetic"),
    log:
        R + "/logs/tokenizer.log",
    conda:
        "../envs/training.yaml"
    script:
        "../workflow_scripts/tokenizer.py"


rule pretrain:
    input:
        tokenizer=rules.tokenizer.output.folder,
        code=code("problems", "student"),
    output:
        folder=directory(R + "/students/{student}/pretrained"),
    params:
        student=lambda wc: config["students"][wc.student],
        arithmetic=config["problems"].get("arithmetic"),
        seed=config["seed"],
    threads: STUDENT_RES["threads"]
    resources:
        mem_mb=STUDENT_RES["mem_mb"],
        runtime=STUDENT_RES["runtime"],
        gpu=STUDENT_RES["gpu"],
        nodes=STUDENT_RES["nodes"],
    log:
        R + "/logs/pretrain/{student}.log",
    benchmark:
        R + "/benchmarks/pretrain/{student}.tsv"
    conda:
        "../envs/training.yaml"
    script:
        "../workflow_scripts/pretrain.py"


rule train:
    input:
        examples=rules.target.output.examples,
        base=student_base,
        code=code("student", "trainer"),
    output:
        model=directory(RUN_DIR + "/model"),
        metrics=RUN_DIR + "/metrics.json",
        curve=RUN_DIR + "/loss.csv",
    params:
        student=lambda wc: config["students"][wc.student],
        training=lambda wc: cd_config.student_training(config, wc.student),
    threads: STUDENT_RES["threads"]
    resources:
        mem_mb=STUDENT_RES["mem_mb"],
        runtime=STUDENT_RES["runtime"],
        gpu=STUDENT_RES["gpu"],
        nodes=STUDENT_RES["nodes"],
    log:
        RUN_DIR + "/train.log",
    benchmark:
        RUN_DIR + "/train.benchmark.tsv"
    conda:
        "../envs/training.yaml"
    script:
        "../workflow_scripts/train.py"
