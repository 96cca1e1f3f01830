using System;
using System.Collections.Generic;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Genesis.Gpu.Kernels;

/// <summary>Compiles every kernel specialisation to PTX without a CUDA device, so that machines without a GPU still
/// check that the kernels stay inside what ILGPU's CUDA backend supports.</summary>
public static class PtxCheck
{
    private static readonly (Type T, Type TN)[] Numbers =
    {
        (typeof(float), typeof(F32)), (typeof(double), typeof(F64)), (typeof(int), typeof(I32)), (typeof(long), typeof(I64)),
    };

    private static readonly Type[] Elements = { typeof(float), typeof(double), typeof(int), typeof(long), typeof(byte) };

    private static IEnumerable<(string Name, MethodInfo Method, bool Explicit)> Specialisations()
    {
        MethodInfo M(string name) => typeof(Kernels).GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;
        foreach (var t in Elements)
        {
            yield return ($"Fill<{t.Name}>", M(nameof(Kernels.Fill)).MakeGenericMethod(t), false);
            yield return ($"Where<{t.Name}>", M(nameof(Kernels.Where)).MakeGenericMethod(t), false);
            yield return ($"Copy<{t.Name}>", M(nameof(Kernels.Copy)).MakeGenericMethod(t), false);
            yield return ($"Gather<{t.Name}>", M(nameof(Kernels.Gather)).MakeGenericMethod(t), false);
        }
        foreach (var (t, tn) in Numbers)
        {
            if (t == typeof(float) || t == typeof(double))
                yield return ($"Unary<{t.Name}>", M(nameof(Kernels.Unary)).MakeGenericMethod(t, tn), false);
            foreach (var name in new[] { nameof(Kernels.Binary), nameof(Kernels.Compare), nameof(Kernels.ReduceThreads), nameof(Kernels.ArgReduce), nameof(Kernels.ScatterAdd), nameof(Kernels.Cumsum) })
                yield return ($"{name}<{t.Name}>", M(name).MakeGenericMethod(t, tn), false);
            yield return ($"ReduceGroups<{t.Name}>", M(nameof(Kernels.ReduceGroups)).MakeGenericMethod(t, tn), true);
            yield return ($"MatMul<{t.Name}>", M(nameof(Kernels.MatMul)).MakeGenericMethod(t, tn), true);
            if (t == typeof(float) || t == typeof(double))
                yield return ($"LuSolve<{t.Name}>", typeof(SolveKernels).GetMethod(nameof(SolveKernels.LuSolve))!.MakeGenericMethod(t, tn), false);
        }
        var all = new List<(Type, Type)>(Numbers) { (typeof(byte), typeof(B8)) };
        foreach (var (s, sn) in all)
            foreach (var (d, dn) in all)
                yield return ($"Cast<{s.Name},{d.Name}>", M(nameof(Kernels.Cast)).MakeGenericMethod(s, sn, d, dn), false);
    }

    /// <summary>Compiles every kernel for SM 7.0 / PTX ISA 7.0; returns the failures as (kernel, error) (empty when all compile).</summary>
    public static IReadOnlyList<(string Kernel, string Error)> CompileAll() => Compile(null).Failures;

    /// <summary>The PTX of one specialisation, named as CompileAll names it (e.g. "MatMul&lt;Double&gt;").</summary>
    public static string PtxOf(string kernel)
    {
        var (failures, ptx) = Compile(kernel);
        if (failures.Count > 0) throw new InvalidOperationException(failures[0].Item1 + ": " + failures[0].Item2);
        return ptx ?? throw new ArgumentException($"no kernel named {kernel}", nameof(kernel));
    }

    private static (List<(string Kernel, string Error)> Failures, string? Ptx) Compile(string? only)
    {
        var failures = new List<(string, string)>();
        string? ptx = null;
        using var context = Context.Create(b => b.EnableAlgorithms());
        var arch = CudaArchitecture.SM_70;
        using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_70, null);
        foreach (var (name, method, isExplicit) in Specialisations())
        {
            if (only != null && name != only) continue;
            try
            {
                var entry = isExplicit
                    ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                    : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
                if (string.IsNullOrEmpty(compiled.PTXAssembly)) failures.Add((name, "empty PTX"));
                ptx = compiled.PTXAssembly;
            }
            catch (Exception e)
            {
                failures.Add((name, e.GetType().Name + ": " + e.Message));
            }
        }
        return (failures, ptx);
    }

    /// <summary>The number of kernel specialisations CompileAll compiles.</summary>
    public static int Count
    {
        get
        {
            int n = 0;
            foreach (var _ in Specialisations()) n++;
            return n;
        }
    }
}
