using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Recorder, Recording, Camera and CameraImage: the facade forwards to the engine's Vis layer.</summary>
public static class VisTests
{
    private static string TempPath(string ext) => Path.Combine(Path.GetTempPath(), $"genesis-facade-{Guid.NewGuid():N}{ext}");

    /// <summary>Scene.Record: frames every k steps equal GetLinksPos at those steps; epochs with losses; JSON round trip.</summary>
    [Test]
    public static void RecorderPosesEqualLinkPositions()
    {
        Init();
        var scene = new Scene(new SimOptions { Dt = 0.01 });
        var robot = scene.AddEntity(Morphs.Urdf(Asset("two_link_arm/two_link_arm.urdf"), fixedBase: true));
        scene.Build();
        var recorder = scene.Record(every: 2);
        Assert.True(recorder.Every == 2 && recorder.FSharp.every == 2, "every");
        var expected = new List<double[]>();
        for (var epoch = 0; epoch < 2; epoch++)
        {
            scene.Reset();
            recorder.Capture();
            if (epoch == 0) expected.Add(robot.GetLinksPos().ToArray());
            for (var t = 1; t <= 4; t++)
            {
                robot.ControlDofsForce(Gs.Tensor(new[] { 1.0 + epoch, -0.5 }));
                scene.Step();
                recorder.Capture();
                if (epoch == 0 && t % 2 == 0) expected.Add(robot.GetLinksPos().ToArray());
            }
            recorder.EndEpoch(5.0 - epoch);
        }
        recorder.NewEpoch();
        var r = recorder.Recording;
        Assert.True(r.EpochCount == 2, "two epochs");
        Assert.True(r.Loss(0) == 5.0 && r.Loss(1) == 4.0, "losses");
        Assert.True(r.Steps(0).SequenceEqual(new[] { 0, 2, 4 }), "steps 0, 2, 4");
        Assert.True(r.LinkNames.SequenceEqual(new[] { "two_link_robot/base", "two_link_robot/arm1", "two_link_robot/arm2" }), "link names");
        Assert.True(r.Envs.SequenceEqual(new[] { 0 }) && r.Every == 2 && r.Dt == 0.01 && r.Warnings.Count == 0, "envs, every, dt, warnings");
        for (var f = 0; f < 3; f++)
            for (var l = 0; l < 3; l++)
                Close(expected[f][(3 * l)..(3 * l + 3)], r.LinkPos(0, f, 0, l), 0, $"frame {f} link {l}");
        Close(robot.GetLinksQuat().ToArray()[8..12], r.LinkQuat(1, 2, 0, 2), 0, "quaternion of arm2 in the last frame (the current state)");
        var back = Recording.FromJson(r.ToJson());
        Assert.True(back.ToJson() == r.ToJson() && back.FSharp.links.Length == 3, "JSON text round trip");
        var path = TempPath(".json");
        try
        {
            r.Save(path);
            Assert.True(Recording.Load(path).ToJson() == r.ToJson(), "file round trip");
        }
        finally { File.Delete(path); }
    }

    /// <summary>Scene.AddCamera: the facade's images equal the engine camera's; PNG, GIF, frames and HTML files are written.</summary>
    [Test]
    public static void CameraAndFilesForwardToTheEngine()
    {
        Init();
        var scene = new Scene(new SimOptions { Dt = 0.01 });
        scene.AddEntity(Morphs.Plane());
        scene.AddEntity(Morphs.Sphere(0.3, pos: [0.0, 0.0, 0.5]));
        scene.Build();
        var cam = scene.AddCamera(32, 24, [2.0, -2.0, 1.0], [0.0, 0.0, 0.4], fov: 45);
        Assert.True(cam.Width == 32 && cam.Height == 24 && cam.Fov == 45, "size and fov");
        var (rgb, depth) = cam.Render();
        Assert.True(rgb.Shape.SequenceEqual(new[] { 24, 32, 3 }) && depth.Shape.SequenceEqual(new[] { 24, 32 }), "shapes");
        var img = cam.RenderImage();
        var fs = cam.FSharp.renderImage(null, null);
        Assert.True(img.Rgb.SequenceEqual(fs.rgb) && img.Depth.SequenceEqual(fs.depth) && img.Width == 32 && img.Height == 24, "same image as the engine");
        Assert.True(img.FSharp.rgb.Length == 32 * 24 * 3, "wrapped image");
        Assert.True(rgb.DType == DType.UInt8 && depth.DType == DType.Float64, "uint8 RGB, float64 depth");
        Assert.True(rgb.ToArray<byte>().SequenceEqual(img.Rgb), "tensor values are the bytes");
        var rgb3 = rgb.ToArray3D<byte>();
        Assert.True(rgb3[23, 31, 2] == img.Rgb[(23 * 32 + 31) * 3 + 2] && rgb3[0, 0, 1] == img.Rgb[1], "ToArray3D<byte> is [H, W, 3]");
        cam.SetPose([0.0, -3.0, 0.5], [0.0, 0.0, 0.5]);
        Assert.True(!cam.RenderImage(collision: true).Rgb.SequenceEqual(img.Rgb), "moved camera, different image");
        Assert.Throws<GenesisException>(() => scene.AddCamera(0, 10, [1.0, 0, 0], [0.0, 0, 0]), "resolution");
        Assert.Throws<GenesisException>(() => scene.AddCamera(10, 10, [1.0, 0, 0], [0.0, 0, 0], fov: 180), "fov");

        var recorder = scene.Record(every: 5);
        recorder.Capture();
        for (var t = 0; t < 10; t++) { scene.Step(); recorder.Capture(); }
        var r = recorder.Recording;
        var png = TempPath(".png");
        var gif = TempPath(".gif");
        var html = TempPath(".html");
        var dir = TempPath("");
        try
        {
            cam.SaveImage(png);
            Assert.True(File.ReadAllBytes(png)[1..4].SequenceEqual("PNG"u8.ToArray()), "PNG written");
            r.SaveGif(gif, 20, 16, [2.0, -2.0, 1.0], [0.0, 0.0, 0.4], frameMs: 50);
            Assert.True(File.ReadAllBytes(gif)[..6].SequenceEqual("GIF89a"u8.ToArray()), "GIF written");
            var frames = r.SaveFrames(dir, 20, 16, [2.0, -2.0, 1.0], [0.0, 0.0, 0.4]);
            Assert.True(frames.Length == 3 && frames.All(File.Exists), "one PNG per frame (steps 0, 5, 10)");
            r.SaveHtml(html, "facade");
            var text = File.ReadAllText(html);
            Assert.True(text.Contains("<title>facade</title>") && text.Contains("THREE") && !text.Contains("__DATA__"), "self-contained page");
            var frame = r.IframeHtml("facade", 300);
            Assert.True(frame == Genesis.Vis.HtmlViewer.iframe("facade", 300, r.FSharp) && frame.StartsWith("<iframe") && frame.Contains("height: 300px"), "the engine's iframe");
            Assert.True(System.Net.WebUtility.HtmlDecode(frame).Contains(text), "srcdoc holds the same page, escaped");
            Assert.Throws<GenesisException>(() => r.IframeHtml("facade", 10), "too small");
        }
        finally
        {
            File.Delete(png);
            File.Delete(gif);
            File.Delete(html);
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
